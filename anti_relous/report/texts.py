"""The report's words in French (the default: it is read by French police and lawyers) and English.

Short labels live here; the method section's prose lives in ``templates/method_<lang>.html.j2``.
A test holds both languages to the same keys.
"""

from __future__ import annotations

LANGUAGES = ("fr", "en")

LABELS: dict[str, dict[str, str]] = {
    "fr": {
        "title": "Rapport de harcèlement par SMS",
        "subtitle": "Ligne anti-relous : messages reçus, expéditeurs, campagnes et preuves",
        "generated": "Rapport établi le",
        "by": "par anti-relous",
        "times_in": "Heures locales de la machine",
        "contents": "Sommaire",
        "summary": "Résumé",
        "period": "Période",
        "from": "du",
        "to": "au",
        "beginning": "premier message",
        "now": "moment du rapport",
        "builtin_list": "intégrée au logiciel",
        "date_formats": "%d/%m/%Y|%d/%m|%H:%M",
        "only_senders": "Limité aux expéditeurs",
        "messages": "Messages reçus",
        "parts": "SMS (parties) reçus",
        "senders": "Expéditeurs distincts",
        "attack_periods": "Périodes d'attaque",
        "replies": "Réponses envoyées",
        "replies_detail": "{failed} en échec, {unknown} incertaines, {pending} en attente",
        "blocked": "Numéros bloqués automatiquement",
        "campaigns": "Campagnes",
        "flagged": "Messages à lire en priorité",
        "cloud_cost": "Coût évité (tarif d'une ligne SMS en nuage)",
        "cloud_cost_detail": "{parts} SMS × {price} : ce que la ligne d'origine aurait payé",
        "chain": "Chaîne de preuve",
        "chain_ok": "intacte ({checked} messages vérifiés)",
        "chain_broken": "ROMPUE au message n° {id} : voir la méthode",
        "decisions": "Décisions de la ligne",
        "decision": "Décision",
        "count": "Nombre",
        "meaning": "Signification",
        "none": "aucune",
        "kind": "Type",
        "start": "Début",
        "end": "Fin",
        "before_period": "avant la période",
        "ongoing": "en cours",
        "during": "Messages pendant",
        "timeline": "Chronologie",
        "timeline_caption": (
            "SMS reçus par {step} (barres) et réponses de la ligne (points rouges) ; "
            "en orange, les périodes d'attaque."
        ),
        "step_10s": "tranche de 10 secondes",
        "step_1min": "minute",
        "step_10min": "tranche de 10 minutes",
        "step_1h": "heure",
        "step_1d": "jour",
        "chart_inbound": "SMS reçus",
        "chart_replies": "Réponses",
        "chart_attack": "Période d'attaque",
        "chart_y": "SMS par {step}",
        "no_traffic": "Aucun message sur la période.",
        "senders_title": "Expéditeurs, par nombre de messages",
        "senders_intro": (
            "Chaque numéro avec la date et l'heure de son premier et de son dernier message : "
            "ce dont les enquêteurs ont besoin pour requérir les opérateurs (qui conservent "
            "les données de trafic un an)."
        ),
        "number": "Numéro",
        "first": "Premier message",
        "last": "Dernier message",
        "campaign": "Campagne",
        "auto_blocked": "bloqué auto.",
        "flag_count": "signalés",
        "campaigns_title": "Campagnes : textes quasi identiques envoyés par plusieurs numéros",
        "campaigns_intro": (
            "Des messages presque identiques (aux chiffres, à la ponctuation et aux accents "
            "près) envoyés par au moins {min} numéros différents : le signe d'une action "
            "concertée (un « raid »)."
        ),
        "size": "Messages",
        "span": "Période",
        "representative": "Texte représentatif",
        "short_campaign": (
            "texte court identique : de vraies personnes l'écrivent aussi, ses numéros ne sont "
            "pas comptés comme attaquants pour cette seule raison"
        ),
        "no_campaigns": "Aucune campagne sur la période.",
        "flagged_title": "Messages à lire en priorité",
        "flagged_intro": (
            "Menaces, données personnelles (adresses, numéros de téléphone, courriels, noms "
            "des fondatrices et fondateurs de la ligne) et insultes, repérées par une liste de "
            "mots et de motifs ({source}). Ces messages restent aussi dans le journal complet : "
            "rien n'est masqué. La liste peut manquer des messages ou en signaler à tort : "
            "elle trie, elle ne juge pas."
        ),
        "no_flagged": "Aucun message signalé par la liste.",
        "why": "Motif",
        "matched": "mots repérés",
        "threat": "Menace",
        "personal_data": "Données personnelles",
        "insult": "Insulte",
        "log_title": "Journal complet des messages",
        "log_intro": (
            "Tous les messages de la période, dans l'ordre de la chaîne de preuve. Les "
            "caractères invisibles ou de contrôle sont montrés sous forme lisible (⟨U+202E⟩, "
            "\\x1b) ; le texte exact est dans messages.csv et messages.jsonl."
        ),
        "id": "N°",
        "received": "Reçu le",
        "sender": "Expéditeur",
        "text": "Texte",
        "reply": "Réponse",
        "no_text_erased": "[texte effacé après la durée de conservation ; empreinte conservée]",
        "no_text_undecodable": "[SMS illisible, conservé brut : voir messages.csv]",
        "unknown_sender": "[inconnu]",
        "method": "Méthode et vérification",
        "numbers_title": "Numéros à signaler au 33700",
        "numbers_intro": (
            "{count} numéros ont pris part à l'attaque (membres d'une campagne ou bloqués "
            "automatiquement par la ligne) ; la liste est dans numbers-33700.txt, un par ligne."
        ),
        "files": "Fichiers du dossier",
        "yes": "oui",
        "no": "non",
    },
    "en": {
        "title": "SMS harassment report",
        "subtitle": "Anti-relous line: messages received, senders, campaigns and evidence",
        "generated": "Report made on",
        "by": "by anti-relous",
        "times_in": "Times are the machine's local time",
        "contents": "Contents",
        "summary": "Summary",
        "period": "Period",
        "from": "from",
        "to": "to",
        "beginning": "first message",
        "now": "the time of this report",
        "builtin_list": "built into the software",
        "date_formats": "%Y-%m-%d|%m-%d|%H:%M",
        "only_senders": "Only senders",
        "messages": "Messages received",
        "parts": "SMS parts received",
        "senders": "Distinct senders",
        "attack_periods": "Attack periods",
        "replies": "Replies sent",
        "replies_detail": "{failed} failed, {unknown} unknown, {pending} pending",
        "blocked": "Numbers blocked automatically",
        "campaigns": "Campaigns",
        "flagged": "Messages to read first",
        "cloud_cost": "Cost avoided (at a cloud SMS line's price)",
        "cloud_cost_detail": "{parts} SMS × {price}: what the original line would have paid",
        "chain": "Evidence chain",
        "chain_ok": "intact ({checked} messages verified)",
        "chain_broken": "BROKEN at message {id}: see the method",
        "decisions": "What the line decided",
        "decision": "Decision",
        "count": "Count",
        "meaning": "Meaning",
        "none": "none",
        "kind": "Kind",
        "start": "Start",
        "end": "End",
        "before_period": "before the period",
        "ongoing": "ongoing",
        "during": "Messages during",
        "timeline": "Timeline",
        "timeline_caption": (
            "SMS received per {step} (bars) and the line's replies (red dots); attack periods "
            "in orange."
        ),
        "step_10s": "10 seconds",
        "step_1min": "minute",
        "step_10min": "10 minutes",
        "step_1h": "hour",
        "step_1d": "day",
        "chart_inbound": "SMS received",
        "chart_replies": "Replies",
        "chart_attack": "Attack period",
        "chart_y": "SMS per {step}",
        "no_traffic": "No message in this period.",
        "senders_title": "Senders, by number of messages",
        "senders_intro": (
            "Each number with the date and time of its first and last message: what "
            "investigators need to requisition the operators (who keep traffic data for a year)."
        ),
        "number": "Number",
        "first": "First message",
        "last": "Last message",
        "campaign": "Campaign",
        "auto_blocked": "auto-blocked",
        "flag_count": "flagged",
        "campaigns_title": "Campaigns: near-identical texts sent by several numbers",
        "campaigns_intro": (
            "Messages that are nearly the same (but for digits, punctuation and accents) sent "
            "by at least {min} different numbers: the mark of a concerted action (a raid)."
        ),
        "size": "Messages",
        "span": "Span",
        "representative": "Representative text",
        "short_campaign": (
            "identical short text: real people write it too, so its numbers are not counted "
            "as attackers for this reason alone"
        ),
        "no_campaigns": "No campaign in this period.",
        "flagged_title": "Messages to read first",
        "flagged_intro": (
            "Threats, personal data (addresses, phone numbers, e-mails, names of the line's "
            "founders) and insults, found by a list of words and patterns ({source}). These "
            "messages also stay in the full log: nothing is hidden. The list can miss messages "
            "or flag some wrongly: it sorts, it does not judge."
        ),
        "no_flagged": "No message flagged by the list.",
        "why": "Why",
        "matched": "matched",
        "threat": "Threat",
        "personal_data": "Personal data",
        "insult": "Insult",
        "log_title": "Full message log",
        "log_intro": (
            "Every message of the period, in evidence-chain order. Invisible and control "
            "characters are shown in a readable form (⟨U+202E⟩, \\x1b); the exact text is in "
            "messages.csv and messages.jsonl."
        ),
        "id": "No.",
        "received": "Received",
        "sender": "Sender",
        "text": "Text",
        "reply": "Reply",
        "no_text_erased": "[text erased after the retention period; its hash is kept]",
        "no_text_undecodable": "[unreadable SMS, kept raw: see messages.csv]",
        "unknown_sender": "[unknown]",
        "method": "Method and verification",
        "numbers_title": "Numbers to report to 33700",
        "numbers_intro": (
            "{count} numbers took part in the attack (members of a campaign, or blocked by the "
            "line itself); they are listed in numbers-33700.txt, one per line."
        ),
        "files": "Files in the folder",
        "yes": "yes",
        "no": "no",
    },
}

#: What each decision reason means, for a reader who never saw the configuration.
REASONS: dict[str, dict[str, str]] = {
    "fr": {
        "replied": "la ligne a répondu (message d'explication automatique)",
        "paused": "ligne en pause : enregistré, pas de réponse",
        "blocked": "expéditeur bloqué : enregistré, pas de réponse",
        "destination_filtered": (
            "pas un mobile d'une région autorisée (fixe, surtaxé, nom, numéro court) : "
            "jamais de réponse"
        ),
        "abuse_block": "trop de messages de ce numéro : numéro bloqué automatiquement",
        "flood": "inondation (trop de messages de tous) : réponses suspendues",
        "campaign": (
            "campagne : le même texte envoyé par plusieurs numéros pendant une attaque : "
            "pas de réponse"
        ),
        "number_block": (
            "bloc de numéros consécutifs (ferme de cartes SIM) pendant une attaque : pas de réponse"
        ),
        "held": "nouveau numéro pendant une attaque : mis en attente, décision à venir",
        "paced": (
            "nouveau numéro pendant une attaque : le budget de réponses aux inconnus est "
            "épuisé, ou rythme de robot (SMS à quelques secondes d'intervalle)"
        ),
        "number_quota": "ce numéro a déjà reçu sa réponse",
        "hourly_cap": "plafond horaire de réponses atteint",
        "daily_cap": "plafond quotidien de réponses atteint",
        "monthly_cap": "plafond mensuel de réponses atteint",
        "recipients_cap": "plafond mensuel de destinataires atteint",
        "undecodable": "SMS illisible : conservé brut",
        "undecided": "pas encore décidé",
    },
    "en": {
        "replied": "the line replied (automatic explanation)",
        "paused": "line paused: recorded, no reply",
        "blocked": "sender blocked: recorded, no reply",
        "destination_filtered": (
            "not a mobile of an allowed region (fixed line, premium, name, short code): "
            "never answered"
        ),
        "abuse_block": "too many messages from this number: blocked automatically",
        "flood": "flood (too many messages from everyone): replies suspended",
        "campaign": "campaign: the same text from several numbers during an attack: no reply",
        "number_block": ("block of consecutive numbers (a SIM farm) during an attack: no reply"),
        "held": "new number during an attack: held, decision to come",
        "paced": (
            "new number during an attack: the budget for unknown senders is spent, or a "
            "machine's rhythm (SMS seconds apart)"
        ),
        "number_quota": "this number already had its reply",
        "hourly_cap": "hourly reply cap reached",
        "daily_cap": "daily reply cap reached",
        "monthly_cap": "monthly reply cap reached",
        "recipients_cap": "monthly recipients cap reached",
        "undecodable": "unreadable SMS: kept raw",
        "undecided": "not decided yet",
    },
}

#: Names of the attack periods the line logs; other kinds show as logged.
PERIOD_KINDS: dict[str, dict[str, str]] = {
    "fr": {
        "flood": "inondation (flood)",
        "attack": "attaque (flood ou vague de nouveaux numéros)",
    },
    "en": {"flood": "flood", "attack": "attack (a flood or a wave of new numbers)"},
}
