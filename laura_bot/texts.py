"""Texts for visitors (from the config, per language) and for staff (built in, nl or en).

Templates render in a Jinja2 sandbox as plain text: visitor input is never markup here, and the
HTML versions of staff messages escape every variable.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from jinja2.sandbox import SandboxedEnvironment

_env = SandboxedEnvironment(autoescape=False, keep_trailing_newline=False)


@lru_cache(maxsize=256)
def _compile(source: str):  # type: ignore[no-untyped-def]
    return _env.from_string(source)


def render(source: str, **values: Any) -> str:
    return _compile(source).render(**values)


def render_parts(source: str, **values: Any) -> Iterator[str]:
    """The text in the pieces the template makes, so a caller can stop early (templates.py
    caps what a template written by people may produce)."""
    return _compile(source).generate(**values)


STAFF: dict[str, dict[str, str]] = {
    "nl": {
        "dispatch": "Nieuwe vraag over {{ topic }} van {{ nickname }} (wacht sinds {{ since }})."
        " Reageer met “Ik!” om hem op te pakken of met “Ik kan nu niet”.",
        "dispatch_first": "Eerste bericht: {{ first }}",
        "verified_line": "✔️ Aangemeld via het portaal: {{ name }} (portaal-id {{ id }}).",
        "verified_name": "{{ name }} ✔️ portaal",
        "escalation_department": "⚠️ {{ nickname }} wacht nog steeds (sinds {{ since }}) met "
        "een vraag over {{ topic }}. Kan iemand dit oppakken? Reageer met “Ik!” op de aanvraag "
        "of typ !take.",
        "escalation_admins": "🚨 {{ nickname }} wacht al sinds {{ since }} met een vraag over "
        "{{ topic }} en niemand heeft het opgepakt. Kan een beheerder iemand vinden?",
        "taken": "✅ Opgepakt door {{ name }}: vraag over {{ topic }} van {{ nickname }}.",
        "contact": "☎️ Niemand kon deze vraag over {{ topic }} van {{ nickname }} aannemen; "
        "de bezoeker is gevraagd om contactgegevens.",
        "ended": "Vraag over {{ topic }} van {{ nickname }}: de bezoeker is weggegaan.",
        "already_taken": "{{ user }}: deze vraag is al opgepakt door {{ name }}. Dank je wel!",
        "too_late": "{{ user }}: deze vraag staat niet meer open.",
        "not_member": "{{ user }}: je hoort niet bij deze afdeling, dus je kunt deze vraag niet "
        "oppakken.",
        "room_name": "Consult {{ short }} – {{ topic }}",
        "room_topic": "Gesprek met een bezoeker over {{ topic }}. Typ !help voor de commando's.",
        "told_visitor": "Laura aan de bezoeker, vóór het gesprek:",
        "consult_intro": "Nieuwe bezoeker {{ nickname }} met een vraag over {{ topic }}. "
        "Alles wat de bezoeker schrijft verschijnt hier; wat jij schrijft ziet "
        "de bezoeker. Een collega erbij halen: !invite @naam:server (Element's eigen "
        "uitnodigen werkt hier niet). Typ !help voor de commando's.",
        "closed": "Gesprek gesloten door {{ name }}. De bezoeker kan niet meer schrijven; je "
        "kunt de kamer nu verlaten.",
        "already_closed": "Dit gesprek is al gesloten.",
        "not_delivered": "Dit gesprek is gesloten; de bezoeker ziet dit bericht niet.",
        "visitor_ended": "De bezoeker heeft het gesprek beëindigd. Wat je hier nog schrijft, "
        "bereikt de bezoeker niet meer; !pdf en !case werken nog. Je kunt de kamer verlaten.",
        "contact_request": "Contactverzoek over {{ topic }} van {{ nickname }}",
        "label_name": "Naam",
        "label_phone": "Telefoon",
        "label_email": "E-mail",
        "label_message": "Bericht",
        "label_question": "Vraag",
        "control_name": "Laura – beheer",
        "control_topic": "Beheer van Laura. Typ !help voor de commando's.",
        "contact_name": "Laura – contactverzoeken",
        "contact_topic": "Contactgegevens die bezoekers achterlieten om teruggebeld te worden.",
        "dispatch_name": "{{ label }} – aanmeldingen",
        "dispatch_topic": "Nieuwe vragen over {{ label }}. Reageer met “Ik!” om er een op te "
        "pakken. Typ !help voor de commando's.",
        # Commands: usage and help (listed by !help), then replies.
        "help_title": "Commando's hier:",
        "cmd_help_usage": "!help",
        "cmd_help_help": "toont de commando's die hier kunnen",
        "cmd_video_usage": "!video",
        "cmd_video_help": "start een videogesprek (Jitsi) in deze kamer; de bezoeker kan "
        "meedoen in de chat",
        "cmd_pdf_usage": "!pdf [files]",
        "cmd_pdf_help": "zet het gespreksverslag als PDF in deze kamer; met files een zip met "
        "de PDF en alle bestanden",
        "video_off": "Videobellen staat uit: er is geen Jitsi-server ingesteld (video.jitsi_url "
        "in de configuratie).",
        "video_not_connected": "Een videogesprek kan alleen in een lopend gesprek.",
        "video_already": "Er loopt al een videogesprek in deze kamer; de bezoeker kan meedoen.",
        "video_started": "Videogesprek gestart. De bezoeker krijgt in de chat de vraag om mee "
        "te doen; jij doet mee via de widget bovenaan deze kamer.",
        "video_widget_name": "Videogesprek",
        "video_foreign": "De bezoeker krijgt dit videogesprek niet aangeboden: Laura biedt "
        "alleen gesprekken op {{ domain }} aan. Gebruik !video, of stel die server in Element "
        "in (jitsi.preferred_domain).",
        "video_ended_notice": "Het videogesprek is beëindigd.",
        "pdf_usage_bad": "Gebruik !pdf voor het verslag, of !pdf files voor het verslag met "
        "alle bestanden.",
        "pdf_no_chat": "Deze kamer hoort niet (meer) bij een gesprek.",
        "pdf_done": "Het verslag staat hierboven: {{ name }}.",
        "typing_preview": "✎ {{ nickname }} typt: {{ draft }}",
        "file_too_large": "Dit bestand is te groot om aan de bezoeker door te geven (hoogstens "
        "{{ mb }} MB); de bezoeker ziet het niet.",
        "file_not_posted": "{{ nickname }} stuurde een bestand ({{ name }}) dat de server hier "
        "niet aannam (te groot?). Vraag de bezoeker het anders te sturen.",
        "file_unavailable": "Laura kon dit bestand niet van de server halen; de bezoeker ziet "
        "het niet. Stuur het opnieuw.",
        "file_encrypted": "Versleutelde bestanden kan Laura niet aan de bezoeker doorgeven; "
        "de bezoeker ziet dit bestand niet.",
        "pdf_title": "Gespreksverslag",
        "pdf_organization": "Organisatie",
        "pdf_topic": "Onderwerp",
        "pdf_conversation": "Gesprek",
        "pdf_participants": "Deelnemers",
        "pdf_started": "Begonnen",
        "pdf_ended": "Beëindigd",
        "pdf_still_open": "nog open",
        "pdf_generated": "Gemaakt op",
        "pdf_page": "Pagina {page} van {pages}",
        "pdf_not_shown": "niet weer te geven",
        "pdf_video_started": "Videogesprek gestart door {{ name }}",
        "pdf_video_ended": "Videogesprek beëindigd",
        "pdf_role_visitor": "bezoeker",
        "pdf_role_staff": "medewerker",
        "pdf_file_name": "gespreksverslag",
        "cmd_close_usage": "!close",
        "cmd_close_help": "beëindigt het gesprek: de bezoeker kan niet meer schrijven",
        "cmd_departments_usage": "!departments",
        "cmd_departments_help": "toont de afdelingen (onderwerpen)",
        "cmd_department_usage": "!department add <id> <naam> | !department remove <id>",
        "cmd_department_help": "voegt een afdeling toe of haalt haar weg",
        "cmd_staff_usage": "!staff add|remove <gebruiker> <afdeling>",
        "cmd_staff_help": "voegt iemand toe aan een afdeling of haalt iemand weg",
        "cmd_settings_usage": "!settings",
        "cmd_settings_help": "toont de instellingen",
        "cmd_set_usage": "!set <instelling> <waarde>",
        "cmd_set_help": "wijzigt een instelling ({{ keys }}; duur als 30s, 5m, 2h)",
        "cmd_stats_usage": "!stats",
        "cmd_stats_help": "wachtende en lopende gesprekken per afdeling",
        "cmd_deadletters_usage": "!deadletters [retry <nr>]",
        "cmd_deadletters_help": "toont Matrix-gebeurtenissen die Laura oversloeg (zonder "
        "inhoud), of probeert er een opnieuw",
        "departments_none": "Er zijn nog geen afdelingen. Voeg er een toe met !department add "
        "<id> <naam>.",
        "departments_title": "Afdelingen:",
        "departments_line": "- {{ id }}: {{ label }} ({{ members }} medewerkers, {{ routing }})",
        "department_bad_id": "Een afdelings-id bestaat uit kleine letters, cijfers, - en _ "
        "(hoogstens 32 tekens), bijvoorbeeld: !department add huisarts Huisartsenpraktijk",
        "department_long_label": "De naam is te lang (hoogstens 80 tekens).",
        "department_exists": "Afdeling {{ id }} bestaat al.",
        "department_added": "Afdeling {{ id }} ({{ label }}) is toegevoegd, met een eigen "
        "aanmeldkamer. Voeg medewerkers toe met !staff add <gebruiker> {{ id }}.",
        "department_unknown": "Er is geen afdeling {{ id }}. Zie !departments.",
        "department_removed": "Afdeling {{ id }} is verwijderd: bezoekers kunnen haar niet meer "
        "kiezen. Lopende gesprekken gaan gewoon door.",
        "department_usage": "Gebruik: !department add <id> <naam> of !department remove <id>",
        "staff_usage": "Gebruik: !staff add <@gebruiker:server> <afdeling> of !staff remove ...",
        "staff_bad_user": "{{ user }} is geen Matrix-gebruiker; schrijf het als @naam:server.",
        "staff_own_user": "Laura en bezoekers kunnen geen medewerker zijn.",
        "staff_invited": "{{ user }} is uitgenodigd voor de aanmeldkamer van {{ label }}; zodra "
        "die uitnodiging is aangenomen, krijgt die persoon de vragen van deze afdeling.",
        "staff_not_member": "{{ user }} hoort niet bij {{ label }}.",
        "staff_kick_reason": "Verwijderd uit de afdeling",
        "staff_removed": "{{ user }} is verwijderd uit {{ label }}.",
        "set_usage": "Gebruik: !set <instelling> <waarde>, bijvoorbeeld !set dispatch_timeout "
        "5m. Instellingen: {{ ranges }}.",
        "set_unknown": "Niet gewijzigd: er is geen instelling {{ key }}. Instellingen: "
        "{{ keys }}.",
        "set_not_duration": "Niet gewijzigd: {{ value }} is geen duur; schrijf een duur tussen "
        "{{ low }} en {{ high }}, zoals 5m.",
        "set_out_of_range": "Niet gewijzigd: {{ key }} moet tussen {{ low }} en {{ high }} "
        "liggen.",
        "set_done": "{{ key }} is nu {{ value }}. Dit geldt voor nieuwe vragen.",
        "stats_title": "Per afdeling:",
        "cmd_waiting_usage": "!waiting",
        "cmd_waiting_help": "toont wie er wacht, genummerd in volgorde van de wachtrij",
        "cmd_take_usage": "!take <nr>",
        "cmd_take_help": "pakt gesprek <nr> uit !waiting op, net als “Ik!”",
        "waiting_none": "Er wacht nu niemand.",
        "waiting_title": "Wachtend voor {{ label }} (pak er een op met !take <nr>):",
        "waiting_line": "{{ n }}. {{ nickname }} — wacht sinds {{ since }} ({{ minutes }} min)",
        "waiting_more": "… en nog {{ count }}.",
        "take_usage": "Gebruik: !take <nr>, met het nummer uit !waiting.",
        "take_unknown": "Nummer {{ n }} staat niet in de lijst. Zie !waiting.",
        "take_done": "Je hebt het gesprek met {{ nickname }} opgepakt; je krijgt zo een "
        "uitnodiging voor de gesprekskamer.",
        "refused": "Alleen beheerders mogen dat commando gebruiken.",
        "removed": "Niet meer in Laura's configuratie",
        "unknown_command": "Onbekend commando {{ name }}. Typ !help voor wat hier kan.",
        "malformed_message": "Dit bericht kon Laura niet lezen, dus de bezoeker ziet het niet. "
        "Stuur het opnieuw als gewone tekst.",
        "malformed_reaction": "Deze reactie kon Laura niet lezen. Klik op “Ik!” of “Ik kan nu "
        "niet” onder de aanvraag.",
        "command_interrupted": "Laura werd onderbroken terwijl ze dit commando uitvoerde; het "
        "is misschien maar half gedaan (referentie {{ ref }}). Kijk het na voor je het opnieuw "
        "geeft.",
        "event_failed": "Laura kon dit door een fout niet verwerken; als het een bericht was, "
        "ziet de bezoeker het niet. Een beheerder kan het opnieuw laten verwerken met "
        "!deadletters retry {{ seq }}.",
        "command_failed": "Dat lukte niet door een fout bij Laura (referentie {{ ref }}). "
        "Probeer het nog eens of geef de referentie door aan de beheerder.",
        "dead_none": "Er zijn geen overgeslagen gebeurtenissen.",
        "dead_title": "Overgeslagen gebeurtenissen (nieuwste eerst, {{ total }} in totaal). "
        "De inhoud staat niet in deze lijst; !deadletters retry <nr> probeert er een opnieuw.",
        "dead_line": "#{{ seq }} {{ when }} {{ type }} van {{ sender }} in {{ room }}: "
        "{{ reason }} ({{ attempts }}×)",
        "dead_retried": "Gebeurtenis #{{ seq }} wordt opnieuw verwerkt.",
        "dead_unknown": "Er is geen overgeslagen gebeurtenis #{{ seq }}. Zie !deadletters.",
        "dead_usage": "Gebruik: !deadletters of !deadletters retry <nr>",
        "speaker_visitor": "bezoeker",
        "speaker_staff": "medewerker",
        "speaker_none": "nog niemand",
        "waiting_room_line": "💬 {{ count }} berichten in de wachtkamer; laatst aan het woord: "
        "{{ last }}. Antwoord in de thread om de bezoeker nu al te schrijven.",
        "staff_copy": "{{ name }} (vóór het gesprek): {{ body }}",
        "staff_copy_live": "{{ name }} aan de bezoeker: {{ body }}",
        "thread_taken": "Dit gesprek is al opgepakt; schrijf de bezoeker in de gesprekskamer.",
        "idle_ended": "Het gesprek is gesloten omdat het een tijd stil was.",
        "cmd_notify_usage": "!notify <nr>|all|waiting|onhold <tekst>",
        "cmd_notify_help": "stuurt wachtende bezoekers een bericht: één (nummer uit !waiting), "
        "iedereen in de wachtrij (waiting), wie om contactgegevens is gevraagd (onhold) of "
        "allebei (all)",
        "notify_usage": "Gebruik: !notify <nr>|all|waiting|onhold <tekst>, bijvoorbeeld "
        "!notify all De huisarts is een kwartier later.",
        "notify_too_long": "Dat bericht is te lang voor de chat.",
        "notify_nobody": "Er is niemand om dit aan te sturen.",
        "notify_done": "Verstuurd aan {{ count }} wachtende bezoeker(s).",
        # Availability, capacity and routing (#6).
        "offered_line": "Aangeboden aan {{ name }} (tot {{ until }}).",
        "nobody_available_line": "Nu is niemand beschikbaar met ruimte voor een gesprek; Laura "
        "biedt de vraag aan zodra iemand vrijkomt.",
        "offer_ping": "Wil jij {{ nickname }} helpen (vraag over {{ topic }})? Reageer vóór "
        "{{ until }} met “Ik!” of “Ik kan nu niet” op de aanvraag.",
        "ask_again": "{{ nickname }} wacht nog (sinds {{ since }}) met een vraag over "
        "{{ topic }}, en jij bent nu beschikbaar. Reageer met “Ik!” op de aanvraag.",
        "direct_hello": "Hallo! Hier kun je je eigen beschikbaarheid regelen: !status, "
        "!availability en !capacity. Typ !help voor meer.",
        "cmd_status_usage": "!status online|auto|offline",
        "cmd_status_help": "zet je beschikbaarheid: online, auto (volgens je rooster) of "
        "offline; zonder argument zie je je status",
        "cmd_availability_usage": "!availability <dagen> <van>-<tot> | off | clear",
        "cmd_availability_help": "je weekrooster voor status auto, bijvoorbeeld "
        "!availability ma-vr 09:00-17:00",
        "cmd_capacity_usage": "!capacity <aantal>|standaard",
        "cmd_capacity_help": "hoeveel gesprekken je tegelijk voert",
        "cmd_routing_usage": "!routing <afdeling> broadcast|one-at-a-time",
        "cmd_routing_help": "iedereen tegelijk vragen, of één medewerker tegelijk",
        "cmd_hours_usage": "!hours [<afdeling> <dagen> <van>-<tot> | <afdeling> always | "
        "closed <datum> [<afdeling>] | open <datum> [<afdeling>]]",
        "cmd_hours_help": "openingstijden per afdeling en gesloten dagen",
        "status_online": "online",
        "status_auto": "auto (volgens je rooster)",
        "status_offline": "offline",
        "status_schedule": "rooster: {{ schedule }}",
        "status_presence_offline": "al je Matrix-apps zijn gesloten",
        "status_not_available": "nu niet beschikbaar",
        "status_full": "beschikbaar, maar vol",
        "status_available": "beschikbaar",
        "status_chats": "{{ running }} van {{ capacity }} gesprekken",
        "status_now": "Je status: {{ state }}.",
        "status_set": "Je status is nu: {{ state }}.",
        "status_auto_no_schedule": "Je hebt nog geen rooster, dus je bent niet beschikbaar; "
        "stel het in met !availability ma-vr 09:00-17:00.",
        "status_usage": "Gebruik: !status online, !status auto of !status offline.",
        "availability_now": "Je rooster: {{ schedule }}. Wijzig het met !availability <dagen> "
        "<van>-<tot>, bijvoorbeeld !availability ma-vr 09:00-17:00.",
        "availability_cleared": "Je rooster is leeg; met status auto ben je nu nooit beschikbaar.",
        "availability_set": "Je rooster is nu: {{ schedule }}.",
        "availability_hint_auto": "Het geldt als je status auto is (!status auto).",
        "availability_usage": "Gebruik: !availability <dagen> <van>-<tot>, bijvoorbeeld "
        "!availability ma-vr 09:00-17:00 of !availability za off.",
        "capacity_now": "Je voert hoogstens {{ capacity }} gesprekken tegelijk (standaard "
        "{{ default }}).",
        "capacity_set": "Gewijzigd. Je status: {{ state }}.",
        "capacity_usage": "Gebruik: !capacity <aantal> (1 tot {{ high }}) of !capacity standaard.",
        "schedule_bad_days": "“{{ value }}” zijn geen dagen; schrijf bijvoorbeeld ma-vr, "
        "za,zo of werkdagen.",
        "schedule_bad_time": "“{{ value }}” is geen tijd; schrijf bijvoorbeeld 09:00-17:00.",
        "schedule_bad_span": "“{{ value }}”: het einde moet na het begin liggen (over "
        "middernacht: twee regels).",
        "schedule_bad_date": "“{{ value }}” is geen datum; schrijf bijvoorbeeld 2026-12-25 of "
        "25-12.",
        "routing_broadcast": "iedereen tegelijk",
        "routing_one-at-a-time": "één tegelijk",
        "routing_usage": "Gebruik: !routing <afdeling> broadcast of !routing <afdeling> "
        "one-at-a-time",
        "routing_set": "Afdeling {{ id }} vraagt nu {{ routing }}.",
        "hours_usage": "Gebruik: !hours <afdeling> ma-vr 09:00-17:00, !hours <afdeling> always, "
        "!hours closed 2026-12-25 [<afdeling>] of !hours open <datum>.",
        "hours_title": "Openingstijden:",
        "hours_closed_title": "Gesloten dagen:",
        "hours_all_departments": "alle afdelingen",
        "hours_set": "Openingstijden van {{ label }}: {{ hours }}.",
        "hours_closed_day": "{{ day }} is gesloten voor {{ where }}.",
        "hours_reopened": "{{ day }} is weer open voor {{ where }}.",
        "hours_not_closed": "{{ day }} stond niet als gesloten voor {{ where }}.",
        "stats_open": "open",
        "stats_closed": "gesloten",
        "stats_department": "{{ label }} ({{ routing }}, {{ open }}): max {{ maximum }} "
        "gesprekken, {{ running }} lopend, {{ free }} vrij, {{ waiting }} wachtend, "
        "{{ contact }} contact gevraagd; {{ available }} van {{ people }} beschikbaar",
        "stats_people": "Medewerkers:",
        "set_bad_count": "Niet gewijzigd: {{ key }} moet een heel getal tussen {{ low }} en "
        "{{ high }} zijn.",
        "set_too_long": "Niet gewijzigd: {{ key }} mag hoogstens {{ limit }} tekens hebben.",
        "set_bad_flag": "Niet gewijzigd: {{ key }} is on (aan) of off (uit).",
        # A text setting is a template in the restricted language (templates.py).
        "set_template_syntax": "Niet gewijzigd: de opmaak van {{ key }} klopt niet "
        "({{ message }}, regel {{ line }}).",
        "set_template_construct": "Niet gewijzigd: {{ key }} mag alleen tekst, "
        "{% raw %}{% if %}{% endraw %} en eenvoudige filters bevatten; geen attributen, "
        "aanroepen, lussen, berekeningen of andere opdrachten.",
        "set_template_variable": "Niet gewijzigd: {{ key }} {% if variables %}kan alleen de "
        "variabelen {{ variables }} gebruiken, niet {{ name }}{% else %}heeft geen variabelen, "
        "dus {{ name }} kan niet worden ingevuld: schrijf de tekst zonder {{ '{{ }}' }}"
        "{% endif %}.",
        "set_template_filter": "Niet gewijzigd: het filter {{ name }} mag niet in {{ key }} "
        "(wel: upper, lower, capitalize, title, trim, default).",
        "set_template_runtime": "Niet gewijzigd: {{ key }} kon niet worden ingevuld.",
        "set_template_too_long": "Niet gewijzigd: {{ key }} zou ingevuld langer worden dan "
        "{{ limit }} tekens.",
        "set_template_empty": "Niet gewijzigd: {{ key }} zou ingevuld leeg zijn. Voor Laura's "
        "eigen tekst: !set {{ key }} -",
        # -- canned --
        "cmd_#_usage": "#, #naam",
        "cmd_#_help": "# toont de standaardantwoorden voor dit gesprek; #naam stuurt er een "
        "naar de bezoeker, met namen en onderwerp ingevuld",
        "cmd_canned_usage": "!canned [add|remove|save]",
        "cmd_canned_help": "toont en beheert standaardantwoorden: in een gesprek die van de "
        "eigen afdeling, in de beheerkamer (beheerders) die per afdeling of voor iedereen; "
        "!canned help legt het uit",
        "canned_usage_consult": "Gebruik: !canned add <naam> <tekst>, !canned remove <naam>, "
        "of !canned save <naam> als antwoord (reply) op een eigen bericht; dit geldt voor de "
        "afdeling van dit gesprek. Een naam heeft 1 tot 32 kleine letters, cijfers, - of _. In "
        "de tekst kun je {% raw %}{{ bezoeker }}, {{ medewerker }} en {{ onderwerp }}"
        "{% endraw %} gebruiken. Typ # voor de lijst.",
        "canned_usage_control": "Gebruik: !canned (de lijst), !canned add <naam> "
        "<afdeling|alle> <tekst>, !canned remove <naam> <afdeling|alle>. Een naam heeft 1 tot "
        "32 kleine letters, cijfers, - of _. In de tekst kun je {% raw %}{{ bezoeker }}, "
        "{{ medewerker }} en {{ onderwerp }}{% endraw %} gebruiken.",
        "canned_list_title": "Standaardantwoorden (typ #naam om er een te sturen):",
        "canned_all_title": "Standaardantwoorden per afdeling:",
        "canned_group": "{{ where }}:",
        "canned_everyone": "alle afdelingen",
        "canned_none": "Er zijn nog geen standaardantwoorden. Voeg er een toe met !canned add.",
        "canned_no_chat": "Deze kamer hoort niet bij een gesprek.",
        "canned_no_department": "Dit gesprek hoort niet bij een afdeling, dus hier kun je "
        "geen standaardantwoorden beheren; er is niets veranderd. Vraag een beheerder.",
        "canned_hash_extra": "Niets verstuurd: typ alleen #{{ name }}, zonder tekst erachter.",
        "canned_unknown": "Er is geen standaardantwoord #{{ name }}; er is niets verstuurd. "
        "Wel beschikbaar: {{ names }}.",
        "canned_unknown_none": "Er is geen standaardantwoord #{{ name }}; er is niets "
        "verstuurd. Er zijn nog geen standaardantwoorden (!canned add).",
        "canned_ended": "Dit gesprek is beëindigd; #{{ name }} is niet verstuurd.",
        "canned_sent": "✓ #{{ name }} verstuurd.",
        "canned_not_sent": "#{{ name }} is niet verstuurd: {{ error }}.",
        "canned_bad_name": "Niet opgeslagen: “{{ name }}” is geen geldige naam; gebruik 1 tot "
        "32 kleine letters, cijfers, - of _.",
        "canned_too_long": "Niet opgeslagen: een standaardantwoord heeft hoogstens "
        "{{ limit }} tekens, dit zijn er {{ length }}.",
        "canned_refused": "#{{ name }} is niet opgeslagen: {{ error }}.",
        "canned_exists": "Er is al een standaardantwoord #{{ name }} voor {{ where }}; er is "
        "niets veranderd. Verwijder het eerst met !canned remove als je het wilt vervangen.",
        "canned_added": "Standaardantwoord #{{ name }} opgeslagen voor {{ where }}.",
        "canned_removed": "Standaardantwoord #{{ name }} verwijderd voor {{ where }}.",
        "canned_not_found": "Er is geen standaardantwoord #{{ name }} voor {{ where }}; er is "
        "niets verwijderd.",
        "canned_admins_only": "Alleen beheerders kunnen hier standaardantwoorden wijzigen; er "
        "is niets veranderd.",
        "canned_save_no_reply": "Niet opgeslagen: gebruik !canned save <naam> als antwoord "
        "(reply) op een bericht dat je zelf hebt gestuurd.",
        "canned_save_unavailable": "Niet opgeslagen: het bericht waarop je antwoordt kon niet "
        "worden opgehaald. Probeer het nog eens.",
        "canned_save_not_yours": "Niet opgeslagen: je kunt alleen je eigen berichten bewaren "
        "als standaardantwoord.",
        "canned_save_not_text": "Niet opgeslagen: dat bericht is geen gewone tekst.",
        "canned_error_syntax": "de opmaak klopt niet ({{ message }}, regel {{ line }})",
        "canned_error_construct": "alleen tekst, de variabelen, {% raw %}{% if %}{% endraw %} "
        "en eenvoudige filters zijn toegestaan",
        "canned_error_variable": "{{ name }} is geen bekende variabele; gebruik {% raw %}"
        "{{ bezoeker }}, {{ medewerker }} of {{ onderwerp }}{% endraw %}",
        "canned_error_filter": "het filter {{ name }} is niet toegestaan (wel: upper, lower, "
        "capitalize, title, trim, default)",
        "canned_error_runtime": "de tekst kon niet worden ingevuld",
        "canned_error_too_long": "ingevuld wordt de tekst langer dan {{ limit }} tekens",
        "canned_error_empty": "de ingevulde tekst is leeg",
        # -- cases --
        "case_ask_subject": "Casus opslaan, stap {{ step }} van {{ steps }}: wat is het "
        "onderwerp? Antwoord met ‘Beantwoorden’ op dit bericht: een antwoord aan Laura gaat nooit "
        "naar de bezoeker. (In één regel kan ook: !case onderwerp | categorie | notities.)",
        "case_ask_category": "Stap {{ step }} van {{ steps }}: welke categorie? Kies uit: "
        "{{ categories }}. (Beantwoord dit bericht.)",
        "case_ask_notes": "Stap {{ step }} van {{ steps }}: interne notities? Alleen voor "
        "collega's; de bezoeker ziet ze nooit. Antwoord - voor geen. (Beantwoord dit bericht.)",
        "case_ask_not_yours": "Deze vraag is voor wie !case begon.",
        "reply_to_laura": "Een antwoord op een bericht van Laura gaat niet naar de bezoeker (en "
        "deze vraag is verlopen). Schrijf de bezoeker gewoon, zonder te antwoorden op Laura.",
        "cmd_case_usage": "!case <onderwerp> | <categorie> | <notities>",
        "cmd_case_help": "slaat dit gesprek op als casus; de notities zijn intern en de bezoeker "
        "ziet ze nooit (in de controlekamer: !case <nr> … voor een gesprek uit !open)",
        "cmd_cases_usage": "!cases [export <nr> pdf|json]",
        "cmd_cases_help": "toont de casussen, nieuwste eerst; export zet er één als PDF (het "
        "verslag) of JSON (velden, notities en de hele geschiedenis) in deze kamer",
        "cmd_open_usage": "!open [<duur>] | !open end <nr>",
        "cmd_open_help": "toont gesprekken die nooit netjes zijn beëindigd (standaard: langer "
        "dan {{ default }} stil); !open end <nr> beëindigt er één, !case <nr> … slaat er één op "
        "als casus",
        "case_usage": "Sla dit gesprek op als casus met: !case <onderwerp> | <categorie> | "
        "<notities> (de notities zijn intern en mogen weg). Categorieën: {{ categories }}.",
        "case_usage_control": "Sla een gesprek uit !open op als casus met: !case <nr> "
        "<onderwerp> | <categorie> | <notities> (de notities mogen weg). Categorieën: "
        "{{ categories }}.",
        "case_no_chat": "Niet opgeslagen: deze kamer hoort niet bij een gesprek.",
        "case_no_subject": "Niet opgeslagen: het onderwerp ontbreekt.",
        "case_no_category": "Niet opgeslagen: de categorie ontbreekt.",
        "case_bad_category": "Niet opgeslagen: “{{ category }}” is geen categorie.",
        "case_too_long": "Niet opgeslagen: het onderwerp mag hoogstens {{ subject }} tekens "
        "hebben, de notities {{ notes }}.",
        "case_bad_text": "Niet opgeslagen: de tekst bevat tekens die niet bewaard kunnen worden.",
        "case_saved": "Casus opgeslagen: “{{ subject }}” ({{ category }})"
        "{% if notes %}, met interne notities{% endif %}"
        "{% if email %}, met het e-mailadres van de bezoeker{% else %}; de bezoeker gaf geen "
        "e-mailadres{% endif %}. Beheerders vinden hem met !cases.",
        "case_file_name": "casus",
        "cases_none": "Er zijn nog geen casussen.",
        "cases_title": "Casussen, nieuwste eerst{% if more %} (de {{ shown }} nieuwste van "
        "{{ total }}){% endif %}:",
        "cases_line": "{{ nr }}. {{ when }} · {{ subject }} · {{ category }} · {{ department }} "
        "· opgeslagen door {{ by }}",
        "cases_hint": "!cases export <nr> pdf of !cases export <nr> json zet er één in deze "
        "kamer.",
        "cases_usage": "Gebruik !cases voor de lijst, of !cases export <nr> pdf|json voor één "
        "casus als bestand.",
        "cases_unknown": "Er is geen casus {{ nr }}. Typ !cases voor de lijst.",
        "cases_exported": "Casus {{ nr }} (“{{ subject }}”) staat hierboven: {{ name }}.",
        "cases_fields": "Categorie: {{ category }} · e-mail: {{ email }} · interne notities: "
        "{{ notes }}",
        "open_usage": "Gebruik !open [duur] (bijvoorbeeld !open 2h) voor de lijst, !open end <nr> "
        "om er één te beëindigen, of !case <nr> <onderwerp> | <categorie> | <notities> om er één "
        "als casus op te slaan.",
        "open_bad_duration": "“{{ value }}” is geen duur; schrijf bijvoorbeeld 30m, 2h of 1d.",
        "open_bad_number": "“{{ value }}” is geen nummer uit de lijst van !open.",
        "open_none": "Geen open gesprekken die langer dan {{ threshold }} stil zijn.",
        "open_title": "Nooit beëindigde gesprekken, langer dan {{ threshold }} stil "
        "({{ count }}, oudste eerst):",
        "open_line": "{{ nr }}. {{ nickname }} · {{ department }} · {{ status }} · "
        "{{ age }} oud · laatste activiteit {{ last }} ({{ quiet }} geleden)"
        "{% if case %} · casus opgeslagen{% endif %}",
        "open_status_waiting": "wacht in de rij",
        "open_status_connected": "verbonden",
        "open_status_contact": "contactgegevens gevraagd",
        "open_hint": "!case <nr> <onderwerp> | <categorie> | <notities> slaat er één op als "
        "casus; !open end <nr> beëindigt er één.",
        "open_no_such": "Er is geen gesprek {{ nr }} in de lijst van !open"
        "{% if count %} (1–{{ count }}){% else %} (die is leeg){% endif %}. Typ !open voor de "
        "lijst.",
        "open_already_ended": "Gesprek {{ nr }} ({{ nickname }}) was al beëindigd.",
        "open_ended": "Gesprek {{ nr }} ({{ nickname }}, {{ department }}) is beëindigd; het "
        "wordt verwijderd met de bewaartermijn.",
        # -- monitor --
        "monitor_direct_only": "Meekijken kan hier alleen in een direct gesprek met Laura "
        "(alleen jij en Laura), of in de beheerkamer.",
        "cmd_monitor_usage": "!monitor [<gesprek> | stop <gesprek>]",
        "cmd_monitor_help": "ongezien meelezen met een lopend gesprek, in een eigen kamer "
        "(beheerders en supervisors); zonder gesprek: de lopende gesprekken, genummerd",
        "cmd_audit_usage": "!audit <gesprek>|<@gebruiker>",
        "cmd_audit_help": "wie een gesprek heeft ingezien en wanneer (het auditlog)",
        "monitor_refused": "Alleen beheerders en supervisors (laura.supervisors in de "
        "configuratie) mogen meekijken met gesprekken.",
        "monitor_usage": "Gebruik: !monitor (de lopende gesprekken), !monitor <nummer of code> "
        "om mee te kijken, !monitor stop <code> om te stoppen. De code is het id van het "
        "gesprek of de eerste 6 tekens ervan, zoals in de naam van de consultkamer.",
        "monitor_bad_number": "Er is geen lopend gesprek met nummer {{ n }}. Typ !monitor voor "
        "de lijst.",
        "monitor_bad_chat": "“{{ chat }}” is geen gesprek: geef een nummer uit !monitor, of de "
        "code van het gesprek (minstens 6 tekens, zoals in de naam van de consultkamer).",
        "monitor_ambiguous": "Meer dan één gesprek begint met “{{ chat }}”; geef meer tekens.",
        "monitor_unknown": "Er is geen gesprek met code “{{ chat }}”. Typ !monitor voor de "
        "lopende gesprekken.",
        "monitor_not_live": "Gesprek {{ short }} is al beëindigd; meekijken kan alleen bij een "
        "lopend gesprek. Er is niets gestart.",
        "monitor_started": "Je kijkt nu mee met gesprek {{ short }} ({{ nickname }}, "
        "{{ topic }}). Laura nodigt je uit in de privékamer “{{ room }}”: daar staat het "
        "gesprek vanaf het begin, daarna alles wat erbij komt. De bezoeker en de medewerkers "
        "zien niet dat je meekijkt; begin en einde staan in het auditlog. Stoppen: !monitor "
        "stop {{ short }}.",
        "monitor_already": "Je kijkt al mee met gesprek {{ short }}, in de kamer “{{ room }}”. "
        "Er is niets veranderd.",
        "monitor_stopped": "Je kijkt niet meer mee met gesprek {{ short }}; de kamer wordt "
        "gesloten en het einde staat in het auditlog.",
        "monitor_not_following": "Je keek niet mee met gesprek {{ short }}; er is niets "
        "veranderd.",
        "monitor_none": "Er lopen nu geen gesprekken (niemand verbonden of wachtend).",
        "monitor_title": "Lopende gesprekken (meekijken: !monitor <nummer> of !monitor <code>):",
        "monitor_line": "{{ n }}. {{ short }} · {{ topic }} · {{ nickname }} · {{ state }}",
        "monitor_state_connected": "met {{ name }} sinds {{ since }}",
        "monitor_state_waiting": "wacht sinds {{ since }}",
        "monitor_more": "… en nog {{ count }} (hun nummer werkt ook).",
        "monitor_room_name": "Meekijken {{ short }} – {{ topic }}",
        "monitor_room_topic": "Alleen-lezen kopie van gesprek {{ short }}. Niemand in het "
        "gesprek ziet deze kamer.",
        "monitor_intro": "Je kijkt mee met {{ nickname }} ({{ topic }}): eerst het gesprek tot "
        "nu toe, daarna live. Je kunt hier niet schrijven; de bezoeker en de medewerkers zien "
        "je niet.",
        "monitor_file": "📎 {{ name }}",
        "monitor_status_waiting": "wacht op een medewerker",
        "monitor_status_connected": "verbonden met een medewerker",
        "monitor_status_contact": "niemand kon het aannemen: gevraagd om contactgegevens",
        "monitor_status_ended": "gesprek beëindigd",
        "monitor_video_started": "videogesprek gestart door {{ name }}",
        "monitor_video_ended": "videogesprek beëindigd",
        "monitor_ended_chat": "Het gesprek is beëindigd; meekijken is gestopt en deze kamer "
        "wordt gesloten.",
        "monitor_ended_stopped": "Meekijken is gestopt; deze kamer wordt gesloten.",
        "monitor_kick": "meekijken beëindigd",
        "audit_usage": "Gebruik: !audit <gesprek> (de code van het gesprek of de eerste 6 "
        "tekens ervan), of !audit @gebruiker:server.",
        "audit_none": "Het auditlog heeft niets over gesprek {{ short }}.",
        "audit_title": "Auditlog van gesprek {{ short }}:",
        "audit_line": "- {{ when }} {{ actor }}: {{ action }}",
        "audit_action_monitor_start": "begon mee te kijken",
        "audit_action_monitor_end": "stopte met meekijken",
        "audit_detail_stopped": "zelf gestopt",
        "audit_detail_chat_ended": "gesprek beëindigd",
        # -- toolkit --
        "cmd_invite_usage": "!invite @gebruiker:server",
        "cmd_invite_help": "haalt een collega in dit gesprek; die leest alles wat er al gezegd is",
        "cmd_leave_usage": "!leave [queue]",
        "cmd_leave_help": "verlaat het gesprek (overdragen: eerst !invite, dan !leave); als "
        "laatste: !leave queue zet de bezoeker vooraan in de wachtrij",
        "cmd_nick_usage": "!nick <naam>",
        "cmd_nick_help": "de naam die bezoekers van jou zien (!nick - voor je Matrix-naam)",
        "invite_usage": "Gebruik: !invite @gebruiker:server (een collega of beheerder).",
        "invite_not_connected": "Collega's uitnodigen kan alleen in een lopend gesprek.",
        "invite_not_staff": "{{ user }} is geen medewerker of beheerder van Laura en kan niet "
        "worden uitgenodigd.",
        "invite_already": "{{ user }} is al in dit gesprek.",
        "invite_done": "{{ user }} is uitgenodigd en leest alles wat er al gezegd is. "
        "(Element's eigen uitnodigen werkt hier niet: gebruik !invite.)",
        "leave_usage": "Gebruik: !leave, of !leave queue om de bezoeker terug in de wachtrij te "
        "zetten.",
        "leave_last": "Je bent de laatste medewerker in dit gesprek; de bezoeker zou dan met "
        "niemand praten. Sluit het gesprek met !close, of zet de bezoeker vooraan in de "
        "wachtrij met !leave queue.",
        "leave_queue_not_last": "Er zijn nog collega's in dit gesprek: verlaat het gewoon met "
        "!leave.",
        "leave_queued": "De bezoeker staat weer vooraan in de wachtrij; wie het oppakt, komt in "
        "deze kamer en leest alles.",
        "leave_done": "Je hebt het gesprek verlaten.",
        "leave_reason": "Verlaten met !leave",
        "edited_command": "Een bewerkt commando ({{ command }}) voert Laura niet uit, en het "
        "gaat niet naar de bezoeker. Typ het opnieuw.",
        "wrong_room_command": "{{ command }} werkt niet in een gesprek met een bezoeker, maar "
        "{{ where }}. Dit bericht is niet naar de bezoeker gestuurd.",
        "command_rooms": "{{ rooms | join(' of ') }}",
        "command_room_control": "in de beheerruimte",
        "command_room_dispatch": "in de ruimte van een afdeling",
        "command_room_other": "in een direct gesprek met Laura",
        "near_command": "Bedoelde je {{ command }}? Dit bericht is niet naar de bezoeker "
        "gestuurd. (Was het wel voor de bezoeker bedoeld? Begin het bericht dan niet met !.)",
        "nick_now": "Bezoekers zien jou als {{ name }}.",
        "nick_none": "Bezoekers zien je Matrix-naam. Kies een andere met !nick <naam>.",
        "nick_cleared": "Bezoekers zien weer je Matrix-naam.",
        "nick_bad": "Een naam heeft hoogstens 40 tekens, zonder regeleinden.",
        "nick_set": "Bezoekers zien jou voortaan als {{ name }}.",
        "rating_posted": "Beoordeling van de bezoeker: {{ stars }}{% if comment %} — "
        "{{ comment }}{% endif %}",
        "stats_rating": "  beoordeling: gemiddeld {{ average }} sterren ({{ count }}x)",
        # -- privacy --
        "set_not_per_department": "Niet gewijzigd: {{ key }} kan niet per afdeling worden "
        "ingesteld.",
        "set_department_done": "{{ key }} is nu {{ value }} voor {{ dept }}.",
        "set_value_done": "{{ key }} is nu {{ value }}.",
        "set_department_cleared": "{{ dept }} volgt weer de algemene {{ key }}.",
        "set_retention_done": "Dit geldt ook voor gesprekken die al zijn afgelopen: wat ouder "
        "is, wordt bij de volgende ronde verwijderd.",
        "set_retention_short": "Let op: dat is korter dan een dag.",
        "retention_notice": "Dit gesprek wordt op {{ date }} verwijderd, hier en in Laura "
        "(bewaartermijn {{ period }}). Moet het bewaard blijven? Exporteer het voor die tijd "
        "met !pdf of leg het vast met !case.",
        "not_admin": "Laura is geen serverbeheerder van de homeserver, dus afgelopen gesprekken "
        "kunnen daar niet worden verwijderd (in Laura's eigen database wel). Maak @laura "
        "serverbeheerder (zie synapse/README.md); wat wacht, wordt dan alsnog verwijderd.",
        "audit_action_joined": "kwam in het gesprek (en las het)",
        "audit_action_exported": "exporteerde het gesprek",
        "audit_action_deleted": "verwijderde de inhoud",
        "audit_action_consented": "ging akkoord met de privacyverklaring",
        "audit_action_case_saved": "legde een zaak vast",
        "audit_action_case_exported": "exporteerde een zaak",
        "audit_user_none": "Het auditlog heeft niets over {{ user }}.",
        "audit_user_title": "Auditlog van {{ user }} (nieuwste eerst):",
        "audit_user_line": "- {{ when }} gesprek {{ chat }}: {{ action }}",
    },
    "en": {
        "dispatch": "New question about {{ topic }} from {{ nickname }} (waiting since "
        "{{ since }}). React with “Ik!” to take it or with “Ik kan nu niet”.",
        "dispatch_first": "First message: {{ first }}",
        "verified_line": "✔️ Signed in on the portal: {{ name }} (portal id {{ id }}).",
        "verified_name": "{{ name }} ✔️ portal",
        "escalation_department": "⚠️ {{ nickname }} is still waiting (since {{ since }}) with "
        "a question about {{ topic }}. Can someone take it? React “Ik!” on the request or type "
        "!take.",
        "escalation_admins": "🚨 {{ nickname }} has been waiting since {{ since }} with a "
        "question about {{ topic }} and nobody took it. Can an admin find someone?",
        "taken": "✅ Taken by {{ name }}: question about {{ topic }} from {{ nickname }}.",
        "contact": "☎️ Nobody could take this question about {{ topic }} from {{ nickname }}; "
        "the visitor was asked for contact details.",
        "ended": "Question about {{ topic }} from {{ nickname }}: the visitor left.",
        "already_taken": "{{ user }}: this question was already taken by {{ name }}. Thanks!",
        "too_late": "{{ user }}: this question is no longer open.",
        "not_member": "{{ user }}: you are not in this department, so you cannot take this "
        "question.",
        "room_name": "Consult {{ short }} – {{ topic }}",
        "room_topic": "Conversation with a visitor about {{ topic }}. Type !help for commands.",
        "told_visitor": "Laura to the visitor, before the chat:",
        "consult_intro": "New visitor {{ nickname }} with a question about {{ topic }}. "
        "Everything the visitor writes appears here; what you write the visitor "
        "sees. To bring in a colleague: !invite @name:server (Element's own invite does not "
        "work here). Type !help for commands.",
        "closed": "Conversation closed by {{ name }}. The visitor can no longer write; you can "
        "leave the room now.",
        "already_closed": "This conversation is already closed.",
        "not_delivered": "This conversation is closed; the visitor does not see this message.",
        "visitor_ended": "The visitor ended the conversation. What you write here no longer "
        "reaches the visitor; !pdf and !case still work. You can leave the room.",
        "contact_request": "Contact request about {{ topic }} from {{ nickname }}",
        "label_name": "Name",
        "label_phone": "Phone",
        "label_email": "E-mail",
        "label_message": "Message",
        "label_question": "Question",
        "control_name": "Laura – admin",
        "control_topic": "Laura's control room. Type !help for commands.",
        "contact_name": "Laura – contact requests",
        "contact_topic": "Contact details visitors left to be called back.",
        "dispatch_name": "{{ label }} – requests",
        "dispatch_topic": "New questions about {{ label }}. React with “Ik!” to take one. "
        "Type !help for commands.",
        "help_title": "Commands here:",
        "cmd_help_usage": "!help",
        "cmd_help_help": "lists the commands you can use here",
        "cmd_video_usage": "!video",
        "cmd_video_help": "starts a video call (Jitsi) in this room; the visitor can join it in "
        "the chat",
        "cmd_pdf_usage": "!pdf [files]",
        "cmd_pdf_help": "puts the transcript as a PDF in this room; with files, a zip with the "
        "PDF and every file",
        "video_off": "Video calls are off: no Jitsi server is set up (video.jitsi_url in the "
        "config).",
        "video_not_connected": "A video call needs a running conversation.",
        "video_already": "A video call is already running in this room; the visitor can join.",
        "video_started": "Video call started. The visitor is asked in the chat to join; you join "
        "with the widget at the top of this room.",
        "video_widget_name": "Video call",
        "video_foreign": "This video call is not offered to the visitor: Laura only offers "
        "calls on {{ domain }}. Use !video, or set that server in Element "
        "(jitsi.preferred_domain).",
        "video_ended_notice": "The video call has ended.",
        "pdf_usage_bad": "Use !pdf for the transcript, or !pdf files for the transcript with "
        "every file.",
        "pdf_no_chat": "This room does not belong to a conversation (any more).",
        "pdf_done": "The transcript is above: {{ name }}.",
        "typing_preview": "✎ {{ nickname }} is typing: {{ draft }}",
        "file_too_large": "This file is too large to pass on to the visitor (at most {{ mb }} "
        "MB); the visitor does not see it.",
        "file_not_posted": "{{ nickname }} sent a file ({{ name }}) the server here did not "
        "accept (too large?). Ask the visitor to send it another way.",
        "file_unavailable": "Laura could not fetch this file from the server; the visitor does "
        "not see it. Send it again.",
        "file_encrypted": "Laura cannot pass encrypted files on to the visitor; the visitor does "
        "not see this file.",
        "pdf_title": "Conversation transcript",
        "pdf_organization": "Organisation",
        "pdf_topic": "Topic",
        "pdf_conversation": "Conversation",
        "pdf_participants": "Participants",
        "pdf_started": "Started",
        "pdf_ended": "Ended",
        "pdf_still_open": "still open",
        "pdf_generated": "Generated",
        "pdf_page": "Page {page} of {pages}",
        "pdf_not_shown": "cannot be shown",
        "pdf_video_started": "Video call started by {{ name }}",
        "pdf_video_ended": "Video call ended",
        "pdf_role_visitor": "visitor",
        "pdf_role_staff": "staff",
        "pdf_file_name": "transcript",
        "cmd_close_usage": "!close",
        "cmd_close_help": "ends the conversation: the visitor can no longer write",
        "cmd_departments_usage": "!departments",
        "cmd_departments_help": "lists the departments (topics)",
        "cmd_department_usage": "!department add <id> <label> | !department remove <id>",
        "cmd_department_help": "adds or removes a department",
        "cmd_staff_usage": "!staff add|remove <user> <department>",
        "cmd_staff_help": "adds someone to a department or removes them",
        "cmd_settings_usage": "!settings",
        "cmd_settings_help": "shows the settings",
        "cmd_set_usage": "!set <setting> <value>",
        "cmd_set_help": "changes a setting ({{ keys }}; durations like 30s, 5m, 2h)",
        "cmd_stats_usage": "!stats",
        "cmd_stats_help": "waiting and running chats per department",
        "cmd_deadletters_usage": "!deadletters [retry <nr>]",
        "cmd_deadletters_help": "lists Matrix events Laura skipped (without content), or tries "
        "one again",
        "departments_none": "There are no departments yet. Add one with !department add <id> "
        "<label>.",
        "departments_title": "Departments:",
        "departments_line": "- {{ id }}: {{ label }} ({{ members }} staff, {{ routing }})",
        "department_bad_id": "A department id consists of lowercase letters, digits, - and _ "
        "(at most 32), for example: !department add gp General practice",
        "department_long_label": "The label is too long (at most 80 characters).",
        "department_exists": "Department {{ id }} already exists.",
        "department_added": "Department {{ id }} ({{ label }}) was added, with its own "
        "dispatch room. Add staff with !staff add <user> {{ id }}.",
        "department_unknown": "There is no department {{ id }}. See !departments.",
        "department_removed": "Department {{ id }} was removed: visitors can no longer choose "
        "it. Running chats go on.",
        "department_usage": "Usage: !department add <id> <label> or !department remove <id>",
        "staff_usage": "Usage: !staff add <@user:server> <department> or !staff remove ...",
        "staff_bad_user": "{{ user }} is not a Matrix user; write it as @name:server.",
        "staff_own_user": "Laura and visitors cannot be staff.",
        "staff_invited": "{{ user }} was invited to the dispatch room of {{ label }}; once "
        "they accept, they get this department's questions.",
        "staff_not_member": "{{ user }} is not in {{ label }}.",
        "staff_kick_reason": "Removed from the department",
        "staff_removed": "{{ user }} was removed from {{ label }}.",
        "set_usage": "Usage: !set <setting> <value>, for example !set dispatch_timeout 5m. "
        "Settings: {{ ranges }}.",
        "set_unknown": "Not changed: there is no setting {{ key }}. Settings: {{ keys }}.",
        "set_not_duration": "Not changed: {{ value }} is not a duration; write one between "
        "{{ low }} and {{ high }}, like 5m.",
        "set_out_of_range": "Not changed: {{ key }} must be between {{ low }} and {{ high }}.",
        "set_done": "{{ key }} is now {{ value }}. This applies to new questions.",
        "stats_title": "Per department:",
        "cmd_waiting_usage": "!waiting",
        "cmd_waiting_help": "lists who is waiting, numbered in queue order",
        "cmd_take_usage": "!take <nr>",
        "cmd_take_help": "takes chat <nr> of !waiting, just like “Ik!”",
        "waiting_none": "Nobody is waiting right now.",
        "waiting_title": "Waiting for {{ label }} (take one with !take <nr>):",
        "waiting_line": "{{ n }}. {{ nickname }} — waiting since {{ since }} ({{ minutes }} min)",
        "waiting_more": "… and {{ count }} more.",
        "take_usage": "Usage: !take <nr>, with the number from !waiting.",
        "take_unknown": "Number {{ n }} is not on the list. See !waiting.",
        "take_done": "You took the chat with {{ nickname }}; you will be invited to the "
        "consult room in a moment.",
        "refused": "Only admins may use that command.",
        "removed": "No longer in Laura's configuration",
        "unknown_command": "Unknown command {{ name }}. Type !help for what you can do here.",
        "malformed_message": "Laura could not read this message, so the visitor does not see "
        "it. Send it again as plain text.",
        "malformed_reaction": "Laura could not read this reaction. Click “Ik!” or “Ik kan nu "
        "niet” below the request.",
        "command_interrupted": "Laura was interrupted while running this command; it may be "
        "only half done (reference {{ ref }}). Check before you give it again.",
        "event_failed": "Laura could not process this because of an error; if it was a "
        "message, the visitor does not see it. An admin can have it processed again with "
        "!deadletters retry {{ seq }}.",
        "command_failed": "That did not work because of an error in Laura (reference "
        "{{ ref }}). Try again, or pass the reference on to the administrator.",
        "dead_none": "There are no skipped events.",
        "dead_title": "Skipped events (newest first, {{ total }} in all). Their content is not "
        "shown here; !deadletters retry <nr> tries one again.",
        "dead_line": "#{{ seq }} {{ when }} {{ type }} from {{ sender }} in {{ room }}: "
        "{{ reason }} ({{ attempts }}×)",
        "dead_retried": "Event #{{ seq }} will be processed again.",
        "dead_unknown": "There is no skipped event #{{ seq }}. See !deadletters.",
        "dead_usage": "Usage: !deadletters or !deadletters retry <nr>",
        "speaker_visitor": "visitor",
        "speaker_staff": "staff",
        "speaker_none": "nobody yet",
        "waiting_room_line": "💬 {{ count }} messages in the waiting room; last to speak: "
        "{{ last }}. Reply in the thread to write to the visitor now.",
        "staff_copy": "{{ name }} (before the chat): {{ body }}",
        "staff_copy_live": "{{ name }} to the visitor: {{ body }}",
        "thread_taken": "This chat was already taken; write to the visitor in the consult room.",
        "idle_ended": "The conversation was closed because it was quiet for a while.",
        "cmd_notify_usage": "!notify <nr>|all|waiting|onhold <text>",
        "cmd_notify_help": "sends waiting visitors a message: one (number from !waiting), "
        "everyone in the queue (waiting), those asked for contact details (onhold) or both "
        "(all)",
        "notify_usage": "Usage: !notify <nr>|all|waiting|onhold <text>, for example "
        "!notify all The doctor is running fifteen minutes late.",
        "notify_too_long": "That message is too long for the chat.",
        "notify_nobody": "There is nobody to send this to.",
        "notify_done": "Sent to {{ count }} waiting visitor(s).",
        # Availability, capacity and routing (#6).
        "offered_line": "Offered to {{ name }} (until {{ until }}).",
        "nobody_available_line": "Nobody is available with room for a chat right now; Laura "
        "offers it as soon as someone is free.",
        "offer_ping": "Can you help {{ nickname }} (question about {{ topic }})? React with "
        "“Ik!” or “Ik kan nu niet” on the request before {{ until }}.",
        "ask_again": "{{ nickname }} is still waiting (since {{ since }}) with a question about "
        "{{ topic }}, and you are available now. React with “Ik!” on the request.",
        "direct_hello": "Hello! Here you can manage your own availability: !status, "
        "!availability and !capacity. Type !help for more.",
        "cmd_status_usage": "!status online|auto|offline",
        "cmd_status_help": "sets your availability: online, auto (by your schedule) or "
        "offline; without an argument it shows your status",
        "cmd_availability_usage": "!availability <days> <from>-<to> | off | clear",
        "cmd_availability_help": "your weekly schedule for status auto, for example "
        "!availability mon-fri 09:00-17:00",
        "cmd_capacity_usage": "!capacity <number>|default",
        "cmd_capacity_help": "how many chats you run at once",
        "cmd_routing_usage": "!routing <department> broadcast|one-at-a-time",
        "cmd_routing_help": "ask everyone at once, or one staff member at a time",
        "cmd_hours_usage": "!hours [<department> <days> <from>-<to> | <department> always | "
        "closed <date> [<department>] | open <date> [<department>]]",
        "cmd_hours_help": "business hours per department and closed days",
        "status_online": "online",
        "status_auto": "auto (by your schedule)",
        "status_offline": "offline",
        "status_schedule": "schedule: {{ schedule }}",
        "status_presence_offline": "all your Matrix apps are closed",
        "status_not_available": "not available now",
        "status_full": "available, but full",
        "status_available": "available",
        "status_chats": "{{ running }} of {{ capacity }} chats",
        "status_now": "Your status: {{ state }}.",
        "status_set": "Your status is now: {{ state }}.",
        "status_auto_no_schedule": "You have no schedule yet, so you are not available; set "
        "one with !availability mon-fri 09:00-17:00.",
        "status_usage": "Usage: !status online, !status auto or !status offline.",
        "availability_now": "Your schedule: {{ schedule }}. Change it with !availability "
        "<days> <from>-<to>, for example !availability mon-fri 09:00-17:00.",
        "availability_cleared": "Your schedule is empty; with status auto you are never "
        "available now.",
        "availability_set": "Your schedule is now: {{ schedule }}.",
        "availability_hint_auto": "It applies when your status is auto (!status auto).",
        "availability_usage": "Usage: !availability <days> <from>-<to>, for example "
        "!availability mon-fri 09:00-17:00 or !availability sat off.",
        "capacity_now": "You run at most {{ capacity }} chats at once (default {{ default }}).",
        "capacity_set": "Changed. Your status: {{ state }}.",
        "capacity_usage": "Usage: !capacity <number> (1 to {{ high }}) or !capacity default.",
        "schedule_bad_days": "“{{ value }}” are not days; write for example mon-fri, sat,sun "
        "or weekdays.",
        "schedule_bad_time": "“{{ value }}” is not a time; write for example 09:00-17:00.",
        "schedule_bad_span": "“{{ value }}”: the end must be after the start (past midnight: "
        "two lines).",
        "schedule_bad_date": "“{{ value }}” is not a date; write for example 2026-12-25 or 25-12.",
        "routing_broadcast": "everyone at once",
        "routing_one-at-a-time": "one at a time",
        "routing_usage": "Usage: !routing <department> broadcast or !routing <department> "
        "one-at-a-time",
        "routing_set": "Department {{ id }} now asks {{ routing }}.",
        "hours_usage": "Usage: !hours <department> mon-fri 09:00-17:00, !hours <department> "
        "always, !hours closed 2026-12-25 [<department>] or !hours open <date>.",
        "hours_title": "Business hours:",
        "hours_closed_title": "Closed days:",
        "hours_all_departments": "all departments",
        "hours_set": "Business hours of {{ label }}: {{ hours }}.",
        "hours_closed_day": "{{ day }} is closed for {{ where }}.",
        "hours_reopened": "{{ day }} is open again for {{ where }}.",
        "hours_not_closed": "{{ day }} was not closed for {{ where }}.",
        "stats_open": "open",
        "stats_closed": "closed",
        "stats_department": "{{ label }} ({{ routing }}, {{ open }}): max {{ maximum }} chats, "
        "{{ running }} running, {{ free }} free, {{ waiting }} waiting, {{ contact }} asked for "
        "contact; {{ available }} of {{ people }} available",
        "stats_people": "Staff:",
        "set_bad_count": "Not changed: {{ key }} must be a whole number between {{ low }} and "
        "{{ high }}.",
        "set_too_long": "Not changed: {{ key }} may have at most {{ limit }} characters.",
        "set_bad_flag": "Not changed: {{ key }} is on or off.",
        # A text setting is a template in the restricted language (templates.py).
        "set_template_syntax": "Not changed: {{ key }} is malformed ({{ message }}, line "
        "{{ line }}).",
        "set_template_construct": "Not changed: {{ key }} may hold only text, "
        "{% raw %}{% if %}{% endraw %} and simple filters; no attributes, calls, loops, "
        "arithmetic or other statements.",
        "set_template_variable": "Not changed: {{ key }} {% if variables %}can use only the "
        "variables {{ variables }}, not {{ name }}{% else %}has no variables, so {{ name }} "
        "cannot be filled in: write the text without {{ '{{ }}' }}{% endif %}.",
        "set_template_filter": "Not changed: the filter {{ name }} is not allowed in {{ key }} "
        "(these are: upper, lower, capitalize, title, trim, default).",
        "set_template_runtime": "Not changed: {{ key }} could not be filled in.",
        "set_template_too_long": "Not changed: {{ key }} would fill in to more than "
        "{{ limit }} characters.",
        "set_template_empty": "Not changed: {{ key }} would be empty when filled in. For "
        "Laura's own text: !set {{ key }} -",
        # -- canned --
        "cmd_#_usage": "#, #name",
        "cmd_#_help": "# lists the canned answers for this chat; #name sends one to the "
        "visitor, with names and topic filled in",
        "cmd_canned_usage": "!canned [add|remove|save]",
        "cmd_canned_help": "lists and manages canned answers: in a chat those of its "
        "department, in the control room (admins) those per department or for everyone; "
        "!canned help explains",
        "canned_usage_consult": "Usage: !canned add <name> <text>, !canned remove <name>, or "
        "!canned save <name> as a reply to a message of your own; this is for the department "
        "of this chat. A name has 1 to 32 lowercase letters, digits, - or _. The text may use "
        "{% raw %}{{ visitor }}, {{ staff }} and {{ topic }}{% endraw %}. Type # for the list.",
        "canned_usage_control": "Usage: !canned (the list), !canned add <name> "
        "<department|all> <text>, !canned remove <name> <department|all>. A name has 1 to 32 "
        "lowercase letters, digits, - or _. The text may use {% raw %}{{ visitor }}, "
        "{{ staff }} and {{ topic }}{% endraw %}.",
        "canned_list_title": "Canned answers (type #name to send one):",
        "canned_all_title": "Canned answers per department:",
        "canned_group": "{{ where }}:",
        "canned_everyone": "all departments",
        "canned_none": "There are no canned answers yet. Add one with !canned add.",
        "canned_no_chat": "This room does not belong to a chat.",
        "canned_no_department": "This chat has no department, so canned answers cannot be "
        "managed here; nothing was changed. Ask an admin.",
        "canned_hash_extra": "Nothing sent: type just #{{ name }}, with no text after it.",
        "canned_unknown": "There is no canned answer #{{ name }}; nothing was sent. "
        "Available: {{ names }}.",
        "canned_unknown_none": "There is no canned answer #{{ name }}; nothing was sent. There "
        "are no canned answers yet (!canned add).",
        "canned_ended": "This chat has ended; #{{ name }} was not sent.",
        "canned_sent": "✓ #{{ name }} sent.",
        "canned_not_sent": "#{{ name }} was not sent: {{ error }}.",
        "canned_bad_name": "Not saved: “{{ name }}” is not a valid name; use 1 to 32 lowercase "
        "letters, digits, - or _.",
        "canned_too_long": "Not saved: a canned answer has at most {{ limit }} characters, "
        "this one has {{ length }}.",
        "canned_refused": "#{{ name }} was not saved: {{ error }}.",
        "canned_exists": "There already is a canned answer #{{ name }} for {{ where }}; "
        "nothing was changed. Remove it first with !canned remove to replace it.",
        "canned_added": "Canned answer #{{ name }} saved for {{ where }}.",
        "canned_removed": "Canned answer #{{ name }} removed for {{ where }}.",
        "canned_not_found": "There is no canned answer #{{ name }} for {{ where }}; nothing was "
        "removed.",
        "canned_admins_only": "Only admins can change canned answers here; nothing was changed.",
        "canned_save_no_reply": "Not saved: use !canned save <name> as a reply to a message "
        "you sent yourself.",
        "canned_save_unavailable": "Not saved: the message you replied to could not be "
        "fetched. Please try again.",
        "canned_save_not_yours": "Not saved: only your own messages can be kept as a canned "
        "answer.",
        "canned_save_not_text": "Not saved: that message is not plain text.",
        "canned_error_syntax": "the template is malformed ({{ message }}, line {{ line }})",
        "canned_error_construct": "only text, the variables, {% raw %}{% if %}{% endraw %} and "
        "simple filters are allowed",
        "canned_error_variable": "{{ name }} is not a known variable; use {% raw %}"
        "{{ visitor }}, {{ staff }} or {{ topic }}{% endraw %}",
        "canned_error_filter": "the filter {{ name }} is not allowed (these are: upper, lower, "
        "capitalize, title, trim, default)",
        "canned_error_runtime": "the text could not be filled in",
        "canned_error_too_long": "filled in, the text is longer than {{ limit }} characters",
        "canned_error_empty": "the filled-in text is empty",
        # -- cases --
        "case_ask_subject": "Saving a case, step {{ step }} of {{ steps }}: what is the "
        "subject? Answer with ‘Reply’ to this message: a reply to Laura never reaches the "
        "visitor. (One line works too: !case subject | category | notes.)",
        "case_ask_category": "Step {{ step }} of {{ steps }}: which category? Choose from: "
        "{{ categories }}. (Reply to this message.)",
        "case_ask_notes": "Step {{ step }} of {{ steps }}: internal notes? For colleagues only; "
        "the visitor never sees them. Answer - for none. (Reply to this message.)",
        "case_ask_not_yours": "This question is for whoever started !case.",
        "reply_to_laura": "A reply to a message of Laura's does not go to the visitor (and this "
        "question has expired). Write to the visitor directly, without replying to Laura.",
        "cmd_case_usage": "!case <subject> | <category> | <notes>",
        "cmd_case_help": "saves this conversation as a case; the notes are internal and the "
        "visitor never sees them (in the control room: !case <nr> … for a chat from !open)",
        "cmd_cases_usage": "!cases [export <nr> pdf|json]",
        "cmd_cases_help": "lists the cases, newest first; export puts one in this room as a PDF "
        "(the transcript) or JSON (fields, notes and the whole history)",
        "cmd_open_usage": "!open [<duration>] | !open end <nr>",
        "cmd_open_help": "lists chats that were never properly ended (by default: quiet for "
        "longer than {{ default }}); !open end <nr> ends one, !case <nr> … saves one as a case",
        "case_usage": "Save this conversation as a case with: !case <subject> | <category> | "
        "<notes> (the notes are internal and may be left out). Categories: {{ categories }}.",
        "case_usage_control": "Save a chat from !open as a case with: !case <nr> <subject> | "
        "<category> | <notes> (the notes may be left out). Categories: {{ categories }}.",
        "case_no_chat": "Not saved: this room does not belong to a conversation.",
        "case_no_subject": "Not saved: the subject is missing.",
        "case_no_category": "Not saved: the category is missing.",
        "case_bad_category": "Not saved: “{{ category }}” is not a category.",
        "case_too_long": "Not saved: the subject may have at most {{ subject }} characters, the "
        "notes {{ notes }}.",
        "case_bad_text": "Not saved: the text contains characters that cannot be stored.",
        "case_saved": "Case saved: “{{ subject }}” ({{ category }})"
        "{% if notes %}, with internal notes{% endif %}"
        "{% if email %}, with the visitor's e-mail address{% else %}; the visitor gave no "
        "e-mail address{% endif %}. Admins find it with !cases.",
        "case_file_name": "case",
        "cases_none": "There are no cases yet.",
        "cases_title": "Cases, newest first{% if more %} (the {{ shown }} newest of "
        "{{ total }}){% endif %}:",
        "cases_line": "{{ nr }}. {{ when }} · {{ subject }} · {{ category }} · {{ department }} "
        "· saved by {{ by }}",
        "cases_hint": "!cases export <nr> pdf or !cases export <nr> json puts one in this room.",
        "cases_usage": "Use !cases for the list, or !cases export <nr> pdf|json for one case as "
        "a file.",
        "cases_unknown": "There is no case {{ nr }}. Type !cases for the list.",
        "cases_exported": "Case {{ nr }} (“{{ subject }}”) is above: {{ name }}.",
        "cases_fields": "Category: {{ category }} · e-mail: {{ email }} · internal notes: "
        "{{ notes }}",
        "open_usage": "Use !open [duration] (for example !open 2h) for the list, !open end <nr> "
        "to end one, or !case <nr> <subject> | <category> | <notes> to save one as a case.",
        "open_bad_duration": "“{{ value }}” is not a duration; write for example 30m, 2h or 1d.",
        "open_bad_number": "“{{ value }}” is not a number from the !open list.",
        "open_none": "No open chats that have been quiet for longer than {{ threshold }}.",
        "open_title": "Chats never ended, quiet for longer than {{ threshold }} "
        "({{ count }}, oldest first):",
        "open_line": "{{ nr }}. {{ nickname }} · {{ department }} · {{ status }} · "
        "{{ age }} old · last activity {{ last }} ({{ quiet }} ago)"
        "{% if case %} · case saved{% endif %}",
        "open_status_waiting": "waiting in the queue",
        "open_status_connected": "connected",
        "open_status_contact": "asked for contact details",
        "open_hint": "!case <nr> <subject> | <category> | <notes> saves one as a case; "
        "!open end <nr> ends one.",
        "open_no_such": "There is no chat {{ nr }} in the !open list"
        "{% if count %} (1–{{ count }}){% else %} (it is empty){% endif %}. Type !open for the "
        "list.",
        "open_already_ended": "Chat {{ nr }} ({{ nickname }}) had already ended.",
        "open_ended": "Chat {{ nr }} ({{ nickname }}, {{ department }}) has ended; it will be "
        "deleted with the retention period.",
        # -- monitor --
        "monitor_direct_only": "Monitoring works here only in a direct chat with Laura (just "
        "you and Laura), or in the control room.",
        "cmd_monitor_usage": "!monitor [<chat> | stop <chat>]",
        "cmd_monitor_help": "follow a live chat unseen, in a room of your own (admins and "
        "supervisors); without a chat: the live chats, numbered",
        "cmd_audit_usage": "!audit <chat>|<@user>",
        "cmd_audit_help": "who accessed a chat and when (the audit log)",
        "monitor_refused": "Only admins and supervisors (laura.supervisors in the "
        "configuration) may follow chats.",
        "monitor_usage": "Usage: !monitor (the live chats), !monitor <number or code> to follow "
        "one, !monitor stop <code> to stop. The code is the chat's id or its first 6 "
        "characters, as in the consult room's name.",
        "monitor_bad_number": "There is no live chat with number {{ n }}. Type !monitor for the "
        "list.",
        "monitor_bad_chat": "“{{ chat }}” is not a chat: give a number from !monitor, or the "
        "chat's code (at least 6 characters, as in the consult room's name).",
        "monitor_ambiguous": "More than one chat starts with “{{ chat }}”; give more characters.",
        "monitor_unknown": "There is no chat with code “{{ chat }}”. Type !monitor for the live "
        "chats.",
        "monitor_not_live": "Chat {{ short }} has already ended; only a live chat can be "
        "followed. Nothing was started.",
        "monitor_started": "You are now following chat {{ short }} ({{ nickname }}, "
        "{{ topic }}). Laura invites you to the private room “{{ room }}”: it holds the chat "
        "from the start, then everything that follows. The visitor and the staff do not see "
        "that you follow; the start and the end are in the audit log. To stop: !monitor stop "
        "{{ short }}.",
        "monitor_already": "You already follow chat {{ short }}, in the room “{{ room }}”. "
        "Nothing changed.",
        "monitor_stopped": "You no longer follow chat {{ short }}; its room is being closed and "
        "the end is in the audit log.",
        "monitor_not_following": "You were not following chat {{ short }}; nothing changed.",
        "monitor_none": "There are no live chats now (nobody connected or waiting).",
        "monitor_title": "Live chats (to follow one: !monitor <number> or !monitor <code>):",
        "monitor_line": "{{ n }}. {{ short }} · {{ topic }} · {{ nickname }} · {{ state }}",
        "monitor_state_connected": "with {{ name }} since {{ since }}",
        "monitor_state_waiting": "waiting since {{ since }}",
        "monitor_more": "… and {{ count }} more (their numbers work too).",
        "monitor_room_name": "Monitor {{ short }} – {{ topic }}",
        "monitor_room_topic": "Read-only copy of chat {{ short }}. Nobody in the chat sees this "
        "room.",
        "monitor_intro": "You are following {{ nickname }} ({{ topic }}): first the chat so "
        "far, then live. You cannot write here; the visitor and the staff do not see you.",
        "monitor_file": "📎 {{ name }}",
        "monitor_status_waiting": "waiting for a staff member",
        "monitor_status_connected": "connected to a staff member",
        "monitor_status_contact": "nobody could take it: asked for contact details",
        "monitor_status_ended": "chat ended",
        "monitor_video_started": "video call started by {{ name }}",
        "monitor_video_ended": "video call ended",
        "monitor_ended_chat": "The chat has ended; monitoring has stopped and this room is being "
        "closed.",
        "monitor_ended_stopped": "Monitoring has stopped; this room is being closed.",
        "monitor_kick": "monitoring ended",
        "audit_usage": "Usage: !audit <chat> (the chat's code or its first 6 characters), or "
        "!audit @user:server.",
        "audit_none": "The audit log holds nothing about chat {{ short }}.",
        "audit_title": "Audit log of chat {{ short }}:",
        "audit_line": "- {{ when }} {{ actor }}: {{ action }}",
        "audit_action_monitor_start": "started monitoring",
        "audit_action_monitor_end": "stopped monitoring",
        "audit_detail_stopped": "stopped by them",
        "audit_detail_chat_ended": "the chat ended",
        # -- toolkit --
        "cmd_invite_usage": "!invite @user:server",
        "cmd_invite_help": "brings a colleague into this chat; they read everything said so far",
        "cmd_leave_usage": "!leave [queue]",
        "cmd_leave_help": "leaves the chat (to transfer: !invite first, then !leave); the last "
        "one: !leave queue puts the visitor at the front of the queue",
        "cmd_nick_usage": "!nick <name>",
        "cmd_nick_help": "the name visitors see for you (!nick - for your Matrix name)",
        "invite_usage": "Use: !invite @user:server (a colleague or an admin).",
        "invite_not_connected": "Colleagues can be invited only into a running chat.",
        "invite_not_staff": "{{ user }} is not staff or an admin of Laura and cannot be invited.",
        "invite_already": "{{ user }} is already in this chat.",
        "invite_done": "{{ user }} is invited and reads everything said so far. (Element's own "
        "invite does not work here: use !invite.)",
        "leave_usage": "Use: !leave, or !leave queue to put the visitor back in the queue.",
        "leave_last": "You are the last staff member in this chat; the visitor would be talking "
        "to nobody. Close it with !close, or put the visitor at the front of the queue with "
        "!leave queue.",
        "leave_queue_not_last": "Colleagues are still in this chat: just leave with !leave.",
        "leave_queued": "The visitor is at the front of the queue again; whoever takes it joins "
        "this room and reads everything.",
        "leave_done": "You left the chat.",
        "leave_reason": "Left with !leave",
        "edited_command": "Laura does not run an edited command ({{ command }}), and it does not "
        "go to the visitor. Type it again.",
        "wrong_room_command": "{{ command }} does not work in a chat with a visitor, but "
        "{{ where }}. This message was not sent to the visitor.",
        "command_rooms": "{{ rooms | join(' or ') }}",
        "command_room_control": "in the control room",
        "command_room_dispatch": "in a department's dispatch room",
        "command_room_other": "in a direct chat with Laura",
        "near_command": "Did you mean {{ command }}? This message was not sent to the visitor. "
        "(If it was meant for the visitor, do not start the message with !.)",
        "nick_now": "Visitors see you as {{ name }}.",
        "nick_none": "Visitors see your Matrix name. Choose another with !nick <name>.",
        "nick_cleared": "Visitors see your Matrix name again.",
        "nick_bad": "A name has at most 40 characters, without line breaks.",
        "nick_set": "Visitors now see you as {{ name }}.",
        "rating_posted": "The visitor's rating: {{ stars }}{% if comment %} — "
        "{{ comment }}{% endif %}",
        "stats_rating": "  rating: {{ average }} stars on average ({{ count }}x)",
        # -- privacy --
        "set_not_per_department": "Not changed: {{ key }} cannot be set per department.",
        "set_department_done": "{{ key }} is now {{ value }} for {{ dept }}.",
        "set_value_done": "{{ key }} is now {{ value }}.",
        "set_department_cleared": "{{ dept }} follows the general {{ key }} again.",
        "set_retention_done": "This applies to chats that have ended already too: whatever is "
        "older is deleted in the next round.",
        "set_retention_short": "Mind: that is less than a day.",
        "retention_notice": "This chat will be deleted on {{ date }}, here and in Laura "
        "(retention {{ period }}). Must it be kept? Export it before then with !pdf, or save "
        "it with !case.",
        "not_admin": "Laura is not a server admin of the homeserver, so ended chats cannot be "
        "deleted there (they are in Laura's own database). Make @laura a server admin (see "
        "synapse/README.md); what waits is deleted then.",
        "audit_action_joined": "joined the chat (and read it)",
        "audit_action_exported": "exported the chat",
        "audit_action_deleted": "deleted its content",
        "audit_action_consented": "agreed to the privacy statement",
        "audit_action_case_saved": "saved a case",
        "audit_action_case_exported": "exported a case",
        "audit_user_none": "The audit log holds nothing about {{ user }}.",
        "audit_user_title": "Audit log of {{ user }} (newest first):",
        "audit_user_line": "- {{ when }} chat {{ chat }}: {{ action }}",
    },
}


def staff_text(lang: str, text_id: str, /, **values: Any) -> str:
    return render(STAFF.get(lang, STAFF["nl"])[text_id], **values)
