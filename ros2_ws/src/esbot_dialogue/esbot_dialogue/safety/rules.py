"""Rule tier: phrase cues over normalised text, working fully offline and alone.

How a decision is reached, in order:
1. idioms are masked ("killing time", "my phone died", "i'd kill for a coffee"), so no cue
   can match inside them;
2. every cue (a regular expression with a category and a level) is matched; a match is
   dropped when it is negated ("i would never hurt myself"), quoted from a song, film or
   character, or (self-harm) an accident in the kitchen;
3. cues that only matter together escalate (means at hand + any suicidal cue = immediate;
   an abuser present now + any abuse cue = immediate; a weapon + hostility = immediate);
4. caps: a distant past ("when i was sixteen", "years ago") lowers self-harm and abuse to
   low unless something is happening again; a medical cue in the past or with a doctor's
   reassurance is no emergency.
The same function runs on one utterance and on the last user turns joined, which is how
risk spread over two utterances ("i have a rope" ... "tonight i'm going to use it") is found.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .levels import (ABUSE_VIOLENCE, HARM_TO_OTHERS, MEDICAL_EMERGENCY, SUICIDE_SELF_HARM, Assessment,
                     RiskLevel, stronger)
from .text import normalise

NONE, LOW, HIGH, IMMEDIATE = RiskLevel.NONE, RiskLevel.LOW, RiskLevel.HIGH, RiskLevel.IMMEDIATE
S, H, A, M = SUICIDE_SELF_HARM, HARM_TO_OTHERS, ABUSE_VIOLENCE, MEDICAL_EMERGENCY

# ---- shared fragments ---------------------------------------------------------------------
_RELATIVE = (r"(?:wife|husband|partner|girlfriend|boyfriend|ex|son|daughter|kids?|child|children|baby|mom|mum|"
             r"mother|dad|father|step ?dad|step ?father|step ?mom|step ?mother|step ?brother|step ?sister|step ?son|step ?daughter|brother|sister|boss|coworker|"
             r"colleague|roommate|flatmate|neighbou?r|teacher|family|parents|friend|cousin|uncle|aunt|grandma|"
             r"grandpa|ex wife|ex husband|landlord|manager|newborn|infant|toddler|stepson|stepdaughter)s?")
PERSON = (rf"(?:him|her|them|someone|somebody|anyone|anybody|people|everyone|everybody|my (?:\w+ )?{_RELATIVE}|"
          rf"the (?:\w+ )?(?:kids|people|guy|man|woman|baby|boss|teacher|neighbou?r|kid)s?|his \w+|her \w+)")
_INTENT = (r"\bi (?:am |have |would )?(?:really |finally |just |definitely |seriously |actually )?"
           r"(?:going to|about to|planning to|plan to|intend to|ready to|decided to|will|shall)")
_SELF_ACT = (r"(?:kill myself|end (?:my life|it all|everything|things|it(?! with| between| off| for))|"
             r"take my (?:own )?life|hang myself|shoot myself|drown myself|overdose|od|"
             r"jump(?! (?:on|in|into|rope|start|at|to|around|up|for|through|ship|the queue|out|back)\b)|"
             r"cut (?:myself|my wrists|my arms?|deep|deeper)|slit my (?:wrists|throat)|throw myself|"
             r"step in front of|drive (?:my car |the car )?into|crash (?:my|the) car|walk into the (?:sea|ocean|river|lake|water))")
_MEANS = (r"(?:pills?|tablets|meds|rope|noose|gun|rifle|pistol|knife|blades?|razors?|bleach|poison|insulin|"
          r"painkillers|antidepressants|paracetamol|tylenol|ibuprofen|aspirin|belt|cord)")
_MEDS = (r"(?:pills?|tablets?|meds|medications?|medicine|tylenol|paracetamol|acetaminophen|ibuprofen|aspirin|"
         r"painkillers|antidepressants|sleeping \w+|insulin|bleach|poison|antifreeze|them|it)")
_QUANTITY = (r"(?:all|whole|entire|handful|bunch|lot|load|pack|box|bottle|packet|\d{2,}|[5-9]|ten|fifteen|"
             r"twenty|thirty|forty|fifty|hundred|too many)")
_HARM_VERB = (r"(?:kill|killing|hurt|hurting|harm|harming|stab|stabbing|shoot|shooting|strangle|strangling|"
              r"choke|choking|beat|beating|poison|poisoning|murder|murdering|shake|shaking|attack|attacking)")
_OTHER = r"(?:he|she|they|someone|somebody|my \w+|the \w+)"
TIME_NOW = re.compile(r"\b(?:tonight|today|tomorrow|right now|now|this (?:weekend|week|morning|afternoon|evening|"
                      r"time)|on (?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)|after (?:work|school|"
                      r"everyone|they|dinner)|when i get home|in an hour|soon)\b")


@dataclass(frozen=True)
class Cue:
    """One phrase pattern. tags name the part it plays in escalations (see _escalate)."""

    name: str
    category: str
    level: RiskLevel
    pattern: re.Pattern
    tags: frozenset = frozenset()
    negatable: bool = True  # False where the negation is the content ("do not want to live")


def _cue(name, category, level, pattern, tags=(), negatable=True) -> Cue:
    return Cue(name, category, level, re.compile(pattern), frozenset(tags), negatable)


CUES: tuple[Cue, ...] = (
    # -- suicide and self-harm: intent, plan, means, act -> immediate
    _cue("s_intent", S, IMMEDIATE, _INTENT + r" (?:\w+ ){0,2}?" + _SELF_ACT + r"\b"),
    _cue("s_purpose", S, IMMEDIATE, r"\bso (?:that )?i can (?:finally )?" + _SELF_ACT + r"\b"),
    _cue("s_overdose_act", S, IMMEDIATE, r"\bi (?:\w+ ){0,2}?(?:took|taken|swallowed|drank|downed|mixed)\b(?: \w+){0,3}? "
         + _QUANTITY + r"\b(?: \w+){0,4}? " + _MEDS + r"\b"),
    _cue("s_took_the_pills", S, IMMEDIATE, r"\bi (?:just |already |have ){0,2}(?:took|taken|swallowed) (?:the|those|all the)"
         r" (?:pills|tablets)\b|\bi (?:just |already |have )?overdosed\b"),
    _cue("s_cutting_now", S, IMMEDIATE, r"\bi am (?:cutting|burning|stabbing) (?:myself|my (?:wrists?|arms?|legs?|skin))"
         r"|\bi (?:just )?(?:cut|slit|sliced) (?:open )?my (?:wrists?|throat)\b"),
    _cue("s_means_ready", S, IMMEDIATE, rf"\b{_MEANS} (?:is |are )?(?:in my hands?|in my lap|against my (?:arm|wrist|"
         rf"neck|throat|head|skin)|ready|tied|hanging|loaded)\b|\b(?:holding|loaded) (?:the|a|my) (?:\w+ )?{_MEANS}\b"
         r"|\beverything (?:is )?ready to\b|\b(?:counted|lined up|laid out|crushed) (?:out |up )?(?:all )?"
         rf"(?:my |the )?{_MEANS}\b|\bhave (?:it all|everything) (?:ready|planned|set up)\b", {"means"}),
    _cue("s_vehicle", S, IMMEDIATE, r"\bengine running\b(?: \w+){0,6} garage\b|\bexhaust (?:pipe|hose)\b"),
    _cue("s_farewell", S, IMMEDIATE, r"\b(?:goodbye|farewell|suicide) (?:letters?|notes?|messages?|videos?)\b|\b(?:wrote|"
         r"written|writing|left) (?:my |the |some )?(?:letters|notes) (?:to|for) (?:everyone|my|all)\b|\b(?:written|wrote)"
         r" the (?:letters|notes)\b|\bthis is (?:my )?goodbye\b|\bsay(?:ing)? goodbye (?:before|to everyone|for good|"
         r"forever)\b|\b(?:said|saying) (?:my )?goodbyes?\b|\bwill not be (?:here|around|alive) (?:tomorrow|much longer|by|anymore|after)\b|\bwill not need "
         r"(?:my|any of my|any) (?:stuff|things|belongings)\b|\b(?:picked|chosen|chose|set) (?:the|a) (?:date|day)\b"),
    # escalation parts: means in hand, a stated use, "do it", a place to jump from
    _cue("s_means_have", S, NONE, rf"\bi (?:have got|have|got|bought|am holding|have been saving|been saving|saved|"
         rf"stockpiled|am saving|collected) (?:up )?(?:a |an |the |some |enough |all |my |his |her |\w+s )(?:\w+ ){{0,3}}?"
         rf"{_MEANS}\b|\b{_MEANS} (?:saved|stashed|hidden|hoarded)\b", {"means"}),
    _cue("s_use", S, NONE, r"\b(?:going to|will|about to|plan to|ready to) (?:\w+ ){0,2}?(?:use (?:it|them|that|this)|"
         r"take (?:them|it) all|take all (?:of )?(?:them|my|her|his|the|those)|take them|swallow (?:them|all)|go "
         r"through with it)\b|\b(?:taking|swallowing) (?:them|it) all\b|\bi am taking them\b|\buse (?:it|them) on myself\b", {"use"}),
    _cue("s_do_it", S, NONE, r"\b(?:going to|will|about to|ready to) (?:finally )?(?:do it|go there|do this)\b|\bi am going there\b"
         r"|\bgoing to let go\b(?! of)|\b(?:tonight|today) is the (?:night|day)\b"
         r"|\bbefore i do it\b", {"do_it"}),
    _cue("s_ledge", S, LOW, r"\bi am (?:standing |sitting |up |out )?(?:on|at) (?:the )?(?:edge of (?:the |a )?)?(?:"
         r"bridge|roof|rooftop|balcony|ledge|cliff|train tracks|tracks|railway|top of (?:the|a) (?:building|bridge|car park))\b"
         r"|\bwaiting for the (?:next )?train\b", {"ledge"}),
    # -- suicidal thoughts and self-harm -> high
    _cue("s_want_die", S, HIGH, r"\bi (?:(?:really|just|honestly|sometimes|still|actually|kind of|sort of|seriously|"
         r"literally|so|truly|do|often) )*(?:want|wanted|wish|need|deserve|would like) to (?:die|be dead)\b"
         r"|\bready to die\b|\brather be dead\b"),
    _cue("s_dead_wish", S, HIGH, r"\bwish (?:that )?i (?:was|were|could be|had) (?:dead|never been born|not born|gone)\b"
         r"|\bwish(?:ing)? (?:that )?i (?:was|were) not (?:alive|here|born)\b|\bwish(?:ing)? i (?:could|would) (?:just )?die\b|\bwish i (?:could|would) (?:just )?(?:die|disappear forever|stop existing)\b|\bsleep forever\b|\b(?:sleep|and|to) (?:never|not) "
         r"wake up\b|\bdo not want to wake up\b(?! early)|\bnot wake up (?:ever )?again\b", negatable=False),
    _cue("s_not_live", S, HIGH, r"\b(?:do not|no longer|not) want to (?:live|be alive|exist|be here|go on)\b(?! with)"
         r"|\bwant to stop (?:existing|living)\b|\btired of (?:being alive|living|life)\b|\bnot worth living\b"
         r"|\bnothing (?:left )?to live for\b|\bno reason (?:for me )?to (?:live|keep living|be alive)\b", negatable=False),
    _cue("s_kill_self", S, HIGH, r"\b(?:kill|killing|killed) myself\b|\b(?:end|ending|ended|take|taking) my (?:own )?life"
         r"\b|\bcommit(?:ting)? suicide\b|\bsuicidal\b|\b(?:thoughts?|thinking|think|thought) (?:of|about) (?:suicide|"
         r"dying|death|ending (?:it|things|everything|my life)|killing myself)\b|\bsuicide (?:keeps|is always|has been|"
         r"is) (?:popping|on my mind|in my head|all i think)\b|\bend it all\b|\b(?:hang|shoot|drown) myself\b"),
    _cue("s_self_harm", S, HIGH, r"\b(?:cut|cutting|burn|burning|burned|burnt|scratch|scratching|hurt|hurting|harm|hit|hitting|"
         r"harming|punish|punishing|starve|starving|stab|stabbing) myself\b|\bself ?harm(?:ing)?\b|\bcutting again\b|"
         r"\b(?:cut|cutting|burn|burning|scratch|scratching) (?:my|on my) (?:arms?|legs?|wrists?|thighs?|skin)\b|\buntil (?:they|it|my \w+) (?:bleed|"
         r"bled|bleeds)\b|\bdeserve (?:the |to feel )?pain\b"),
    _cue("s_method", S, HIGH, r"\bhow (?:many|much) (?:\w+ ){0,2}?(?:pills|tablets|\w+)\b(?: \w+){0,4}? (?:kill|overdose|"
         r"fatal|lethal|deadly|it would take|it takes|would it take)\b|\bwhich (?:\w+ )?(?:pills|tablets|meds|drugs|\w+) (?:are|is|would be) "
         r"(?:deadly|lethal|fatal)\b|\b(?:lethal|deadly|fatal) (?:dose|amount)\b|"
         r"\b(?:dose|amount) of \w+(?: \w+)? (?:is|would be) (?:deadly|lethal|fatal)\b|\b(?:ways?|methods?|how) to "
         r"(?:die|kill myself|end my life|overdose|hang myself|cut deeper|cut deep|hurt myself|commit suicide)\b|"
         r"\b(?:easiest|best|quickest|painless|least painful|fastest|surest) way to (?:die|go|end it)\b|"
         r"\bhow i would do it\b"),
    _cue("s_gone", S, HIGH, r"\bbetter off dead\b|\b(?:better off|happier|easier) (?:without me|if i (?:was|were|am) (?:gone|dead|not here|"
         r"not around|never born))\b|\b(?:no one|nobody|noone) (?:would|will|is going to) (?:even )?(?:miss|notice|care|"
         r"cry)\b|\bif i (?:died|was dead|were dead|was gone|were gone|killed myself)\b|\bdeath (?:is|seems|feels)(?: "
         r"like)? the only (?:way|option|answer)\b|\bonly (?:way out|option left)\b"),
    _cue("s_want_end", S, HIGH, r"\bwant to (?:drive|crash) (?:my car |the car )?into\b|\bwant (?:it all|everything|it|this|life|all of this) to (?:end|be over)\b|\bwant to "
         r"disappear forever\b"),
    _cue("s_attempt", S, HIGH, r"\btried to (?:kill myself|end (?:it|things|my life)|take my (?:own )?life|overdose)\b|"
         r"\battempted suicide\b|\bsuicide attempt\b"),
    _cue("s_jump_method", S, HIGH, r"\bjump(?:ing)? (?:off|from|in front of) (?:the |a |that )?(?:\w+ )?(?:bridge|roof|"
         r"building|cliff|balcony|train|ledge|tower|car park|overpass)\b|\bin front of (?:a|the) (?:train|bus|truck|"
         r"lorry)\b"),
    # -- hopelessness and warning signs -> low
    _cue("s_hopeless", S, LOW, r"\b(?:do not|cannot|no longer) see (?:the|any) point\b|\b(?:no|not any|what is (?:even )?"
         r"the) point (?:anymore|of (?:anything|living|life|trying|it all|going on|being here|me)|in (?:anything|living|"
         r"trying|going on)|to anything)\b|\bnothing matters\b|\bhopeless\b|\bno hope\b|\b(?:cannot|could not) (?:go on|"
         r"keep going|do this|take (?:it|this)|cope)(?: anymore| any more| like this)?\b|\bburden\b|\b(?:feel|feeling|am)"
         r" (?:so |completely |totally )?empty\b|\btired of everything\b|\bwant to disappear\b|\bno way out\b|"
         r"\btrapped\b|\bhow much longer i can\b|\bpointless\b|\bmeaningless\b|\bgiv(?:e|ing) up on (?:life|everything|"
         r"myself)\b|\bfeel like giving up\b|\bdone with (?:life|living|everything|it all)\b|(?<!calls me )(?<!called "
         r"me )\bworthless\b|\bdo not care (?:what happens to me|if i (?:live|die))\b|\bdrowning\b(?! in)|\bpretending "
         r"(?:i am|to be) (?:fine|okay|ok|happy)\b|\bnever (?:get|getting) better\b|\b(?:pain|hurt|hurting) to stop\b|"
         r"\bdo not belong\b|\b(?:will|reason) to (?:live|keep going|go on)\b|(?<!heart )\bfailure\b|\bnothing to look "
         r"forward to\b", {"hopeless"}),
    _cue("s_give_away", S, LOW, r"\bgiv(?:e|ing|en) (?:away )?(?:all )?(?:my|away my|away all my) (?:things|stuff|"
         r"belongings|possessions)\b|\bgiving away (?:all )?my\b", {"give_away"}),
    _cue("s_place", S, LOW, r"\b(?:thinking|think|thought) about (?:the|that) (?:bridge|cliff|tracks|train|roof|rope|"
         r"pills|gun)\b"),
    # -- harm to others
    _cue("h_intent", H, IMMEDIATE, _INTENT + r" (?:\w+ ){0,2}?(?:stab|shoot|poison|strangle|choke|hurt|beat up|beat|"
         rf"attack|shake) {PERSON}\b|\brun (?:him|her|them) over\b|" + _INTENT + r" (?:\w+ ){0,2}?burn (?:down )?(?:his|her|"
         r"their) (?:house|car|place|home)\b|\bshoot up (?:the|my|a) (?:office|school|work|mall|party|church|class)\b|"
         r"\btaking (?:a|my|the|his|her)(?: \w+)? (?:gun|knife|weapon|rifle)s? to (?:school|work|the office|class)\b|"
         rf"\b(?:going|driving|heading|on my way)(?: \w+){{1,4}}? to (?:hurt|stab|shoot|kill|beat up|attack) {PERSON}\b|"
         rf"\bso (?:that )?i can (?:hurt|stab|shoot|kill|poison) {PERSON}\b|\bwaiting outside (?:his|her|their) \w+\b"),
    _cue("h_intent_kill", H, HIGH, _INTENT + rf" (?:\w+ ){{0,2}}?(?:kill|murder) {PERSON}\b"),
    _cue("h_thoughts", H, HIGH, r"\b(?:want|wants|wanted|going|urges?|thoughts?|thinking|think|imagine|imagining|"
         r"fantasi[sz]e|fantasi[sz]ing|dream|dreaming|scared|afraid|feel like|help me|how (?:do|can) i) (?:\w+ ){0,5}?"
         rf"(?:to |about |of )?{_HARM_VERB} {PERSON}\b|\bcould (?:really )?hurt {PERSON}\b|\bwant (?:him|her|them) "
         r"dead\b|\bwish (?:he|she|they) (?:was|were) dead\b"),
    _cue("h_did_harm", H, HIGH, r"\bi (?:just )?(?:hit|punched|slapped|kicked|pushed|shoved|choked|strangled|beat|hurt|"
         rf"shook|stabbed) {PERSON}\b"),
    _cue("h_anger", H, LOW, r"\b(?:breaking|break|smash|smashing|smashed|punch|punched|punching|threw|throw|throwing) "
         r"(?:things|something|stuff|a plate|plates|the table|the wall|my phone)\b|\bviolent thoughts\b|\brage\b|"
         r"\blos(?:e|ing|t) my temper\b|\bexplode at\b|\bsnap(?:ped)? at\b|\bi got into a fight\b|\brevenge\b|\bmake "
         r"(?:them|him|her)(?: all)? pay\b|\bhow angry i get\b", {"hostile"}),
    _cue("h_hate", H, NONE, rf"\bhate {PERSON}\b", {"hostile"}),
    _cue("h_weapon", H, NONE, r"\b(?:have got|have|got|bought|holding|took|grabbed) (?:a |an |the |my |his |her |\w+s )"
         r"?(?:\w+ )?(?:gun|rifle|pistol|knife|bat|weapons?|machete|axe)\b|\bweapons? (?:is |are )?ready\b",
         {"weapon"}),
    _cue("h_weapon_for", H, HIGH, r"\b(?:knife|gun|weapon|bat) (?:\w+ ){0,4}?for (?:him|her|them)\b", {"weapon"}),
    # -- abuse and violence against the speaker
    _cue("a_now", A, IMMEDIATE, r"\b(?:is|are) (?:\w+ )?(?:hitting|beating|punching|kicking|choking|strangling|attacking"
         r"|raping|stabbing|touching|slapping|shoving|dragging) me\b|\bi am being (?:raped|attacked|beaten|hurt|abused|"
         r"assaulted|strangled|choked|stabbed)\b|\b(?:hitting|beating|hurting|choking|attacking|stabbing|punching|kicking|strangling) (?:my \w+|her"
         r"|him) (?:\w+ ){0,4}?right now\b|\bpinn(?:ed|ing) (?:me )?down\b|\bholding me down\b|\bbroke in\b|\b(?:outside|at) my (?:door|window|house|home|flat|apartment|room) (?:with|and)\b|"
         r"\b(?:trying to )?(?:break|breaking) (?:down |into )(?:the|my) (?:door|house|home|room|flat|apartment)\b|"
         r"\bthere is (?:someone|somebody|a man|a stranger) in my (?:house|room|flat|home|apartment)\b|\b(?:someone|"
         r"somebody|a man|a guy|he|they) (?:is|are) following me\b|\b(?:is|are) threatening to (?:shoot|stab|kill|hurt)"
         r" me\b|\b(?:going|trying|coming) to (?:shoot|stab|kill|hurt) me (?:now|right now|tonight)\b|\bjust (?:hit|"
         r"punched|slapped|kicked|choked|stabbed|attacked) me\b|\bcoming at me\b|\b(?:knife|gun|blade) (?:to|at|against) my (?:throat|head|neck|chest)\b|\bwill not let me (?:leave|out)\b|\bi am hiding\b"),
    _cue("a_hurts_me", A, HIGH, r"\b(?:hits?|hitting|beats?|beaten|slaps?|slapped|kicks?|kicked|punch(?:es|ed)?|chokes?"
         r"|choked|strangled?|strangles|burns?|burned|pushe[sd]|shoves?|shoved|rapes?|raped|abused?|abuses|molested?|"
         r"molests|assaulted|threw|throws|attacked) me\b(?! hard| like| that| to| up with| with the)|\bhit me\b(?! hard|"
         rf" like| that| up| with the)|\b(?:he|she|they|{_RELATIVE}) (?:\w+ ){{0,2}}?hurts? me\b|\bbruises (?:all over )?"
         rf"from (?:him|her|them|my)\b|\bforce[sd]? me (?:to|into) (?:have sex|sex|sleep with|do sexual)\b|\bi was "
         r"(?:raped|sexually assaulted|abused|molested|beaten)\b|\btouch(?:es|ed|ing)? me (?:when|where|at night|"
         r"inappropriately|in)\b|\block(?:s|ed)? me (?:in|out)\b|\bthreaten(?:s|ed|ing)? to (?:kill|hurt|stab|shoot|beat|"
         r"hit) (?:me|my|the kids)\b|\b(?:said|says|swore|screaming|yelling|shouting) (?:that )?(?:he|she|they) (?:would"
         r"|will|is going to|are going to) (?:kill|hurt|stab|shoot) (?:me|the kids|my)\b|\bwhat (?:he|she|they) (?:will|"
         r"would|is going to|might) do to me\b|\b(?:he|she|they|someone) (?:is|are) going to (?:kill|hurt|shoot|stab) "
         r"me\b|\bbeats? me up\b"),
    _cue("a_control", A, LOW, r"\bwill not let me (?:see|talk to|go out|have|visit|contact)\b|\bchecks my (?:phone|"
         r"messages)\b|\bcontrols? (?:all )?(?:my|our) (?:money|finances|phone|life)\b|\btracks (?:where|my)\b|\bcalls? "
         r"me (?:worthless|stupid|useless|names|fat|ugly|an idiot|pathetic)\b|\btells me i am (?:useless|worthless|stupid"
         r"|nothing|pathetic)\b|\b(?:yells|yelling|screams|screaming|shouts|shouting) at me\b|\bi am (?:being )?bullied"
         r"\b|\bbull(?:y|ies) me\b|\bcall me names\b|\bused to (?:hit|beat|abuse|hurt) me\b|\bmy (?:ex|husband|wife|"
         r"partner|boyfriend|girlfriend|dad|mom|father|mother) used to be (?:violent|abusive)\b|\blot of violence\b|"
         r"\bgets (?:really )?jealous\b|\bsays horrible things to me\b|\bgets? (?:really |so )?(?:angry|violent|"
         r"aggressive|scary|mean) when (?:he|she|they) (?:drinks?|is drunk)\b|\bgets violent\b"),
    _cue("a_present", A, NONE, r"\b(?:he|she|they) (?:is|are) (?:\w+ )?(?:here|home|back|outside|downstairs|upstairs|"
         r"coming(?: up the stairs| back| home| here| for me| over)?|on (?:his|her|their) way|still here)\b|\b(?:kicking"
         r"|banging on|pounding on) (?:the|my) door\b|\bcoming back to\b", {"presence"}),
    # -- medical emergencies
    _cue("m_breathing", M, IMMEDIATE, r"\b(?:cannot|could not|unable to|hard to|struggling to|trouble) (?:breathe|"
         r"breathing|catch my breath|get (?:any )?air)\b(?! through)|(?<!was )(?<!were )\b(?:is not|are not|not|stopped) breathing\b|"
         r"\bis choking\b(?! me)|\bchoking on\b", negatable=False),
    _cue("m_collapse", M, IMMEDIATE, r"\bcollapsed\b|\bunresponsive\b|\bunconscious\b|\b(?:will not|cannot|does not|"
         r"is not) wak(?:e|ing) (?:up|him|her)\b|\bpassed out\b|\b(?:is not|are not|not) moving\b", negatable=False),
    _cue("m_attack", M, IMMEDIATE, r"\b(?:having|have|had|is having) (?:a |an )?(?:\w+ ){0,2}?(?:heart attack|stroke|"
         r"seizure|fit|anaphylactic \w+|allergic reaction|asthma attack)\b"),
    _cue("m_stroke_signs", M, IMMEDIATE, r"\b(?:face|mouth|smile) (?:is |looks |looking )?(?:\w+ )?(?:drooping|droopy|"
         r"drooped|lopsided)\b|\bslurr(?:ed|ing)\b|\bcannot (?:lift|move|feel) (?:my |his |her |the )?(?:\w+ )?(?:arm|"
         r"leg|side|face|body)\b|\bcannot talk properly\b|\bworst headache\b|\bsudden (?:\w+ )?headache\b"),
    _cue("m_bleeding", M, IMMEDIATE, r"\bbleeding (?:a lot|heavily|badly|so much|everywhere)\b|\b(?:will not|cannot|does"
         r" not) stop bleeding\b|\bblood everywhere\b|\blot of blood\b|\b(?:vomiting|throwing up) (?:a lot of )?blood\b"
         r"|\bthroat (?:is |feels )?(?:closing|swelling|swollen)\b|\b(?:face|tongue|lips?) (?:is |are )?(?:swelling|"
         r"swollen)\b|\banaphyla"),
    _cue("m_poisoned", M, IMMEDIATE, r"\bswallowed (?:some |a )?(?:\w+ )?(?:cleaning|bleach|detergent|poison|battery|"
         r"batteries|chemicals?|liquid)\b"),
    _cue("m_chest", M, HIGH, r"\bchest (?:is |feels )?(?:crushing|heavy)\b|\bchest (?:pains?|hurts|is hurting|has been hurting|(?:feels?|is|gets) (?:\w+ ){0,2}?tight|"
         r"tightness|pressure)\b|\bpain in my chest\b|\bcrushing (?:pain|chest)\b", {"chest"}),
    _cue("m_urgent", M, HIGH, r"\b(?:going to|about to|might|gonna) (?:pass out|faint|black out)\b|\bfeel (?:\w+ )?faint\b|\bstiff neck\b|"
         r"\bcannot (?:walk on|put (?:any )?weight on)\b|\b(?:cannot|not been able to|unable to) keep (?:any )?(?:water|food|anything|fluids) down\b|"
         r"\bblood sugar (?:is|has been|was) (?:\w+ )?(?:high|low)\b|\bblister(?:ing|ed|s)?\b|\bcoughing up (?:\w+ )?"
         r"blood\b|\b(?:stopped|not been|have not been) taking my (?:\w+ )?(?:medication|meds|medicine|insulin|pills)\b|"
         r"\bheart (?:keeps )?skipping\b|\bhave not eaten (?:in|for) (?:\w+ )?(?:days|a week)\b|\bconfused than usual\b|"
         r"\bsuddenly confused\b|\bdoes not recogni[sz]e me\b|\b(?:pain|hurts|ache)\b(?: \w+){0,6} getting worse\b|"
         r"\bhit my head\b(?: \w+){0,6} (?:headache|dizzy|sick)\b|\blump\b(?: \w+){0,5} bleeding\b", {"urgent"}),
    _cue("m_symptom", M, LOW, r"\bheadaches? (?:a lot|all the time|every day|lately|constantly)\b|\b(?:dizzy|lightheaded"
         r"|light headed)\b|\bhave not (?:slept|been sleeping) (?:properly |well )?(?:for|in) (?:\w+ )?days\b|"
         r"\bforget(?:ting)? to take my (?:medication|meds|pills|medicine)\b|\bheart (?:is |keeps )?racing\b|\bshaking\b"
         r"|\bconfused\b|\bdiabetic\b|\bthrowing up\b|\bcannot see\b|\bnumb\b|\bsweating\b", {"symptom"}),
)

# ---- idioms, negation, quotes, accidents, past ---------------------------------------------
_IDIOMS = re.compile("|".join([
    r"\bkilling (?:some )?time\b", r"\bdying (?:to|for|of)\b", r"\b(?:die|died|dying) (?:of|from) (?:embarrassment|"
    r"boredom|laughter|laughing|happiness|shame|cuteness|curiosity)\b", r"\b(?:died|dying|die) laughing\b",
    r"\bto die for\b", r"\brather die than\b", r"\bkilled myself laughing\b", r"\b(?:is|are|was|were) (?:literally )?killing me\b",
    r"\bkill(?:ed|s|ing)? (?:it|two birds)\b", r"\bkill for (?:a|an|some)\b", r"\b(?:could|would) (?:murder|kill) "
    r"(?:a|an|some|for)\b", r"\b(?:phone|battery|laptop|car|engine|computer|tablet|plants?|flowers?|conversation|party"
    r"|wifi|internet) (?:\w+ )?(?:died|is dead|was dead|is dying|will die|die)\b", r"\bdead (?:tired|on my feet|"
    r"serious|wrong|last|quiet|end)\b", r"\b(?:gave|give|giving) me a heart attack\b", r"\b(?:nearly|almost|"
    r"practically) (?:had|have|having) a heart attack\b", r"\bdrowning in\b", r"\b(?:shoot|shot) (?:me|you|him|her) "
    r"(?:a|an) (?:text|message|email|line|note|dm)\b", r"\bkill me if (?!i (?:leave|left|tell|told|report|call|go|try|"
    r"ever))", r"\bkill me when (?:she|he|they) (?:sees?|finds? out|hears?|notices?)\b", r"\bkill (?:him|her|them|my "
    r"\w+) if (?:he|she|they) (?!(?:leaves?|tells?|reports?))", r"\bend it with\b", r"\bcut (?:class|school|back|"
    r"corners|ties|my hair|it out)\b", r"\bhang (?:out|on|up|in there)\b", r"\b(?:has|have) never crossed my mind\b",
]))
_NEGATORS = frozenset({"not", "never", "no"})
# Words that may stand between a negator and the cue without ending its scope
# ("i have no plans to hurt myself", "i am not having any thoughts of suicide").
_NEGATION_FILLER = frozenset("""to going want wanted plan plans planning intend intention intentions ever even really
    any have had has be been being do did would will am is are was thinking thought thoughts about of try trying feel
    feeling like anything a the at all having urge urges desire wish""".split())
_QUOTE = re.compile(r"\b(?:song|lyrics?|movie|film|show|series|episode|book|novel|poem|character|singer|rapper|band|"
                    r"play|game|scene|line|podcast|article|documentary|news|report)\b(?: \w+){0,4}? (?:says?|said|sings?|"
                    r"sang|goes|went|asks?|asked|called|titled|named|where|about|in which)\b")
_HYPOTHETICAL = re.compile(r"\basked (?:me )?(?:if|whether)\b")
_ACCIDENT = re.compile(r"\b(?:by accident|accidentally|shaving|chopping|cooking|in the kitchen|on (?:a|the) (?:knife|"
                       r"glass|can|paper))\b")
_DISTANT_PAST = re.compile(r"\b(?:years? ago|a long time ago|when i was (?:a |an )?(?:kid|child|teen|teenager|little|"
                           r"young|younger|small|\w+teen|\d+|in \w+ school)|in (?:high|middle|primary|secondary) school"
                           r"|in college|at university|as a (?:kid|child|teen|teenager)|used to|back then|been years|"
                           r"in the past|growing up|grew up)\b")
_HAPPENING_AGAIN = re.compile(r"\b(?:again|now|lately|these days|recently|still|tonight|today)\b")
_MEDICAL_NOT_NOW = re.compile(r"\b(?:years? ago|months? ago|last (?:year|month|spring|summer|winter|autumn|fall|weekend)"
                              r"|once when|when i was|in the past|recover(?:ed|ing)|doing (?:much )?better|(?:doctor|dr|"
                              r"gp|nurse) (?:\w+ ){0,3}?(?:checked|said|says|told me)|it is (?:just |only )?(?:a little|"
                              r"a bit|nothing|minor))\b")
_HABITUAL_CHEST = re.compile(r"\bwhen i (?:walk|run|climb|exercise|am anxious|get anxious|am stressed|panic)\b")
_BENIGN_PURPOSE = re.compile(r"\b(?:for|at) (?:climbing|camping|hunting|fishing|a \w+ trip|the gym|work|cooking|my "
                             r"(?:blood pressure|heart|allergies|\w+ condition))\b")
_MEANS_WORD = re.compile(rf"\b{_MEANS}\b")
# "my friend used to self harm": a cue whose subject, just before it, is someone else.
_THIRD_PARTY_SUBJECT = re.compile(rf"\b(?:he|she|they|him|them|my (?:\w+ )?{_RELATIVE}|friend)(?: \w+){{0,2}} $")
_FIRST_PERSON = re.compile(r"\b(?:i|me|myself|my)\b")
_CARDIAC_SIGNS = re.compile(r"\b(?:arm|jaw|sweat|sweating|breath|breathe|crushing|numb|nause\w*|dizzy|faint)\b")
_FAINT_SIGNS = re.compile(r"\b(?:heart is racing|racing|shaking|confused|diabetic)\b")
_HEAD_SIGNS = re.compile(r"\b(?:throwing up|vomiting|cannot see|confused|passed out|unconscious|blurry)\b")


@dataclass(frozen=True)
class Hit:
    cue: Cue
    start: int


def mask_idioms(text: str) -> str:
    """Normalised text with idioms replaced by "~", so no cue can match inside them."""
    return _IDIOMS.sub(" ~ ", text)


def _negated(words_before: list[str]) -> bool:
    for word in reversed(words_before[-6:]):
        if word in _NEGATORS:
            return True
        if word not in _NEGATION_FILLER:
            return False
    return False


def _explained_away(cue: Cue, match: re.Match, masked: str, quote_ends: list[int], accident: bool) -> bool:
    """A match that is negated, quoted, hypothetical, about someone else or an accident."""
    before = masked[: match.start()]
    return ((cue.negatable and _negated(before.split()))
            or any(end <= match.start() for end in quote_ends)
            or (accident and cue.name == "s_self_harm")
            or (cue.category == S and bool(_THIRD_PARTY_SUBJECT.search(before))
                and not _FIRST_PERSON.search(match.group())))


def find_hits(masked: str) -> tuple[list[Hit], list[str]]:
    """Cue matches that count, and the names of those explained away (see _explained_away)."""
    quote_ends = [m.end() for m in _QUOTE.finditer(masked)] + [m.end() for m in _HYPOTHETICAL.finditer(masked)]
    accident = bool(_ACCIDENT.search(masked))
    hits, explained = [], []
    for cue in CUES:
        for match in cue.pattern.finditer(masked):
            if _explained_away(cue, match, masked, quote_ends, accident):
                explained.append(cue.name)
            else:
                hits.append(Hit(cue, match.start()))
    return hits, explained


def _level(hits: list[Hit], category: str) -> RiskLevel:
    return max((h.cue.level for h in hits if h.cue.category == category), default=NONE)


def _escalate(hits: list[Hit], text: str) -> dict[str, RiskLevel]:
    """Per category: the strongest cue, raised where cues only mean danger together."""
    levels = {category: _level(hits, category) for category in (S, H, A, M)}
    tags = {tag for h in hits for tag in h.cue.tags}
    suicide_cues = {h.cue.name for h in hits if h.cue.category == S and h.cue.level >= LOW}
    signs = suicide_cues - {"s_ledge"}
    means_at_hand = "means" in tags and not _BENIGN_PURPOSE.search(text)
    means_named = _MEANS_WORD.search(text) and not _BENIGN_PURPOSE.search(text)
    if (means_at_hand and ({"use", "do_it"} & tags or signs)) or (means_named and "use" in tags):
        levels[S] = IMMEDIATE  # means at hand + a stated use or any suicidal cue
    if "do_it" in tags and suicide_cues:
        levels[S] = IMMEDIATE  # "i'm going to do it" after hopelessness, ideation or a ledge
    ledges = sum(1 for h in hits if "ledge" in h.cue.tags)
    if ledges and (signs or ledges > 1 or TIME_NOW.search(text) or "jump" in text):
        levels[S] = IMMEDIATE
    if levels[S] == HIGH and TIME_NOW.search(text) and not _DISTANT_PAST.search(text):
        levels[S] = IMMEDIATE  # thoughts of dying with a time: "tonight", "right now"
    if "give_away" in tags and "hopeless" in tags:
        levels[S] = max(levels[S], HIGH)
    harm = [h for h in hits if h.cue.category == H and h.cue.level >= HIGH]
    if harm and ("weapon" in tags or TIME_NOW.search(text) or "do_it" in tags or re.search(r"\bplann?ed\b", text)):
        levels[H] = IMMEDIATE
    if "weapon" in tags and "hostile" in tags:
        levels[H] = IMMEDIATE
    if "presence" in tags and levels[A] >= LOW:
        levels[A] = IMMEDIATE  # the abuser is here, coming back, at the door
    if levels[A] == HIGH and TIME_NOW.search(text) and re.search(r"\b(?:kill|hurt|shoot|stab)\b", text):
        levels[A] = IMMEDIATE  # a threat for tonight
    if "chest" in tags:
        if _CARDIAC_SIGNS.search(text):
            levels[M] = IMMEDIATE
        elif _HABITUAL_CHEST.search(text) and levels[M] == HIGH:
            levels[M] = LOW
    if "urgent" in tags and re.search(r"\b(?:pass out|faint|black out)\b", text) and _FAINT_SIGNS.search(text):
        levels[M] = IMMEDIATE
    if re.search(r"\bhit my head\b", text) and _HEAD_SIGNS.search(text):
        levels[M] = IMMEDIATE
    return levels


def _apply_caps(levels: dict[str, RiskLevel], hits: list[Hit], text: str) -> dict[str, RiskLevel]:
    if _DISTANT_PAST.search(text) and not _HAPPENING_AGAIN.search(text):
        for category in (S, A):
            levels[category] = min(levels[category], LOW)
        if any(h.cue.name == "s_method" for h in hits):
            levels[S] = max(levels[S], HIGH)  # asking for a lethal dose is never in the past
    if _MEDICAL_NOT_NOW.search(text):
        levels[M] = NONE
    return levels


def assess_normalised(text: str) -> Assessment:
    """The rule tier's judgement of already normalised text (one turn or turns joined)."""
    masked = mask_idioms(text)
    hits, explained = find_hits(masked)
    levels = _apply_caps(_escalate(hits, masked), hits, masked)
    # A risk phrase the rules explicitly set aside (negated, quoted, past, someone else's)
    # is recorded, so the model tier does not re-raise what it cannot read (negation).
    best = Assessment(reasons=tuple(f"explained:{name}" for name in explained)
                      + (("idiom",) if "~" in masked else ()))
    if any(levels[category] < _level(hits, category) for category in (S, A, M)):
        best = Assessment(reasons=best.reasons + ("explained:past_or_reassured",))
    for category, level in levels.items():
        if level > NONE:
            reasons = tuple(sorted({h.cue.name for h in hits if h.cue.category == category}))
            best = stronger(best, Assessment(RiskLevel(level), category, reasons))
    return best


def assess(text: str) -> Assessment:
    """The rule tier's judgement of raw text."""
    return assess_normalised(normalise(text))
