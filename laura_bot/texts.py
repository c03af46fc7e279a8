"""Texts for visitors (from the config, per language) and for staff (built in, nl or en).

Templates render in a Jinja2 sandbox as plain text: visitor input is never markup here, and the
HTML versions of staff messages escape every variable.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from jinja2.sandbox import SandboxedEnvironment

_env = SandboxedEnvironment(autoescape=False, keep_trailing_newline=False)


@lru_cache(maxsize=256)
def _compile(source: str):  # type: ignore[no-untyped-def]
    return _env.from_string(source)


def render(source: str, **values: Any) -> str:
    return _compile(source).render(**values)


STAFF: dict[str, dict[str, str]] = {
    "nl": {
        "dispatch": "Nieuwe vraag over {{ topic }} van {{ nickname }} (wacht sinds {{ since }})."
        " Reageer met “Ik!” om hem op te pakken of met “Ik kan nu niet”.",
        "dispatch_first": "Eerste bericht: {{ first }}",
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
        "consult_intro": "Nieuwe bezoeker {{ nickname }} met een vraag over {{ topic }}. "
        "Alles wat de bezoeker schrijft verschijnt hier; wat jij schrijft ziet "
        "de bezoeker. Typ !help voor de commando's.",
        "closed": "Gesprek gesloten door {{ name }}. De bezoeker kan niet meer schrijven; je "
        "kunt de kamer nu verlaten.",
        "already_closed": "Dit gesprek is al gesloten.",
        "not_delivered": "Dit gesprek is gesloten; de bezoeker ziet dit bericht niet.",
        "visitor_ended": "De bezoeker heeft het gesprek beëindigd.",
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
        # -- canned --
        # -- cases --
        # -- monitor --
        # -- toolkit --
    },
    "en": {
        "dispatch": "New question about {{ topic }} from {{ nickname }} (waiting since "
        "{{ since }}). React with “Ik!” to take it or with “Ik kan nu niet”.",
        "dispatch_first": "First message: {{ first }}",
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
        "consult_intro": "New visitor {{ nickname }} with a question about {{ topic }}. "
        "Everything the visitor writes appears here; what you write the visitor "
        "sees. Type !help for commands.",
        "closed": "Conversation closed by {{ name }}. The visitor can no longer write; you can "
        "leave the room now.",
        "already_closed": "This conversation is already closed.",
        "not_delivered": "This conversation is closed; the visitor does not see this message.",
        "visitor_ended": "The visitor ended the conversation.",
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
        # -- canned --
        # -- cases --
        # -- monitor --
        # -- toolkit --
    },
}


def staff_text(lang: str, text_id: str, /, **values: Any) -> str:
    return render(STAFF.get(lang, STAFF["nl"])[text_id], **values)
