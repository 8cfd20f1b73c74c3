"""The access history and the household's own data (proxy/portal/history.py, owndata.py)."""

from proxy.web.lang import Catalogue

MESSAGES: Catalogue = {
    "portal.forbidden.title": {"fr": "Accès réservé", "en": "Restricted"},
    "portal.not_found.title": {"fr": "Page introuvable", "en": "Page not found"},
    "portal.chart.table": {"fr": "Les mêmes chiffres en tableau",
                           "en": "The same figures as a table"},
    "portal.history.title": {"fr": "Qui a lu mes données, et quand",
                             "en": "Who read my data, and when"},
    "portal.history.intro": {
        "fr": "Chaque lecture d'une application sur vos compteurs, servie ou refusée : "
              "quelles données, pour quelle période, à quelle date.",
        "en": "Every read by an app on your meters, served or refused: which data, for which "
              "period, on which date."},
    "portal.history.filters": {"fr": "Filtrer l'historique", "en": "Filter the history"},
    "portal.history.recipient": {"fr": "Application", "en": "App"},
    "portal.history.dataset": {"fr": "Donnée", "en": "Data"},
    "portal.history.period": {"fr": "Période", "en": "Period"},
    "portal.history.all": {"fr": "toutes", "en": "all"},
    "portal.history.last_days": {"fr": "{n} derniers jours", "en": "last {n} days"},
    "portal.history.last_days#one": {"fr": "{n} dernier jour", "en": "last {n} day"},
    "portal.history.apply": {"fr": "Afficher", "en": "Show"},
    "portal.history.chart_title": {"fr": "Lectures par jour", "en": "Reads per day"},
    "portal.history.summary": {
        "fr": "Sur les {n} derniers jours : {served}, {denied}.",
        "en": "Over the last {n} days: {served}, {denied}."},
    "portal.history.summary#one": {"fr": "Sur {n} jour : {served}, {denied}.",
                                   "en": "Over the last {n} day: {served}, {denied}."},
    "portal.history.served_n": {"fr": "{n} lectures servies", "en": "{n} reads served"},
    "portal.history.served_n#one": {"fr": "{n} lecture servie", "en": "{n} read served"},
    "portal.history.denied_n": {"fr": "{n} refusées", "en": "{n} refused"},
    "portal.history.denied_n#one": {"fr": "{n} refusée", "en": "{n} refused"},
    "portal.history.served": {"fr": "servies", "en": "served"},
    "portal.history.denied": {"fr": "refusées", "en": "refused"},
    "portal.history.week_of": {"fr": "semaine du", "en": "week of"},
    "portal.history.list": {"fr": "Détail des lectures", "en": "Reads in detail"},
    "portal.history.when": {"fr": "Quand", "en": "When"},
    "portal.history.what": {"fr": "Quoi", "en": "What"},
    "portal.history.window": {"fr": "Période des données", "en": "Data period"},
    "portal.history.outcome": {"fr": "Résultat", "en": "Outcome"},
    "portal.history.unknown": {"fr": "application inconnue", "en": "unknown app"},
    "portal.history.values": {"fr": "({n} valeurs)", "en": "({n} values)"},
    "portal.history.values#one": {"fr": "({n} valeur)", "en": "({n} value)"},
    "portal.history.rule": {"fr": "règle :", "en": "rule:"},
    "portal.history.truncated": {
        "fr": "Seules les 500 lectures les plus récentes sont listées ; affinez les filtres.",
        "en": "Only the 500 most recent reads are listed; narrow the filters."},
    "portal.history.empty": {"fr": "Aucune lecture sur cette période.",
                             "en": "No read in this period."},
    "portal.history.counted": {"fr": "Lectures plus anciennes, comptées",
                               "en": "Older reads, counted"},
    "portal.history.retention": {
        "fr": "Passerelle garde le détail de chaque lecture 31 jours. Ensuite, il n'en garde "
              "que le nombre : par semaine pendant 20 semaines, puis par mois pendant "
              "20 mois, puis plus rien (règle R17).",
        "en": "Passerelle keeps the detail of each read for 31 days. After that it keeps only "
              "how many there were: per week for 20 weeks, then per month for 20 months, "
              "then nothing (rule R17)."},
    "portal.history.chart_detail": {
        "fr": "Le graphique ne montre que les lectures gardées en détail (les 31 derniers "
              "jours) ; les plus anciennes sont comptées plus bas.",
        "en": "The chart shows only the reads kept in detail (the last 31 days); older ones "
              "are counted below."},
    "portal.history.grain.week": {"fr": "semaine", "en": "week"},
    "portal.history.grain.month": {"fr": "mois", "en": "month"},
    "portal.history.no_counts": {"fr": "Aucune lecture comptée sur cette période.",
                                 "en": "No read counted in this period."},
    "portal.err.filter": {"fr": "Choisissez une valeur de la liste.",
                          "en": "Choose a value from the list."},
    "portal.data.title": {"fr": "Ma consommation", "en": "My consumption"},
    "portal.data.intro": {
        "fr": "Votre consommation (et votre production) lue par Passerelle auprès du "
              "gestionnaire de réseau : seulement depuis votre arrivée, au plus trois ans.",
        "en": "Your consumption (and production) read by Passerelle from the grid operator: "
              "only since you moved in, three years at most."},
    "portal.data.choose": {"fr": "Choisir le compteur", "en": "Choose the meter"},
    "portal.data.point": {"fr": "Compteur", "en": "Meter"},
    "portal.data.what": {"fr": "Énergie", "en": "Energy"},
    "portal.data.views": {"fr": "Affichage", "en": "View"},
    "portal.data.view.day": {"fr": "Par jour", "en": "Per day"},
    "portal.data.view.week": {"fr": "Par semaine", "en": "Per week"},
    "portal.data.view.month": {"fr": "Par mois", "en": "Per month"},
    "portal.data.view.year": {"fr": "Par an (3 ans)", "en": "Per year (3 years)"},
    "portal.data.month": {"fr": "Mois", "en": "Month"},
    "portal.data.daily_consumption": {"fr": "Consommation", "en": "Consumption"},
    "portal.data.daily_production": {"fr": "Production", "en": "Production"},
    "portal.data.partial": {"fr": "partiel", "en": "partial"},
    "portal.data.partial_legend": {"fr": "période incomplète", "en": "incomplete period"},
    "portal.data.period": {"fr": "Période", "en": "Period"},
    "portal.data.energy": {"fr": "Énergie", "en": "Energy"},
    "portal.data.running_total": {"fr": "Cumul", "en": "Running total"},
    "portal.data.last_24_months": {"fr": "24 derniers mois", "en": "last 24 months"},
    "portal.data.three_years": {"fr": "3 dernières années", "en": "last 3 years"},
    "portal.data.summary": {
        "fr": "{span} : {total} en tout ; {average} en moyenne {per} ; le plus haut : "
              "{peak} ({when}).",
        "en": "{span}: {total} in all; {average} on average {per}; the highest: {peak} "
              "({when})."},
    "portal.data.per.day": {"fr": "par jour", "en": "per day"},
    "portal.data.per.week": {"fr": "par semaine complète", "en": "per full week"},
    "portal.data.per.month": {"fr": "par mois complet", "en": "per full month"},
    "portal.data.per.year": {"fr": "par année complète", "en": "per full year"},
    "portal.data.no_values": {"fr": "{span} : aucune valeur disponible.",
                              "en": "{span}: no value available."},
    "portal.data.cumulative_title": {"fr": "Cumul sur 36 mois",
                                     "en": "Running total over 36 months"},
    "portal.data.cumulative_summary": {
        "fr": "Cumul mois après mois sur les 36 derniers mois : {total} en tout.",
        "en": "Running total month by month over the last 36 months: {total} in all."},
    "portal.data.unavailable": {
        "fr": "Le gestionnaire de réseau ne répond pas pour l'instant. Réessayez plus tard.",
        "en": "The grid operator is not answering right now. Try again later."},
    "portal.data.source": {
        "fr": "Chaque affichage est lu par Passerelle et tracé comme toute lecture (R16).",
        "en": "Each view is read by Passerelle and traced like any read (R16)."},
}
