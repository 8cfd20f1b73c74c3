"""The overview, one consent, the decisions on it, giving access (proxy/portal/overview.py,
consents.py)."""

from proxy.web.lang import Catalogue

MESSAGES: Catalogue = {
    "portal.overview.title": {"fr": "Qui lit mes données de compteur",
                              "en": "Who reads my meter data"},
    "portal.overview.intro": {
        "fr": "Pour chacun de vos compteurs : quelles applications peuvent lire quoi, pourquoi, "
              "avec quelle précision, sur quelle période, et quand elles l'ont lu pour la "
              "dernière fois. Chaque décision prend effet immédiatement.",
        "en": "For each of your meters: which apps may read what, why, at which resolution, "
              "over which period, and when they last read it. Every decision takes effect at "
              "once."},
    "portal.overview.give": {"fr": "Donner un accès", "en": "Give access"},
    "portal.overview.claim": {"fr": "Ajouter un compteur", "en": "Add a meter"},
    "portal.overview.register": {"fr": "Registre public des destinataires autorisés",
                                 "en": "Public register of authorised recipients"},
    "portal.overview.pending": {"fr": "Demandes en attente de votre réponse",
                                "en": "Requests awaiting your answer"},
    "portal.overview.points": {"fr": "Mes compteurs", "en": "My meters"},
    "portal.overview.since": {"fr": "Vous en êtes le client depuis le",
                              "en": "You have been its client since"},
    "portal.overview.see_data": {"fr": "voir ma consommation", "en": "see my consumption"},
    "portal.overview.nobody": {"fr": "Aucune application n'a accès à ce compteur.",
                               "en": "No app has access to this meter."},
    "portal.overview.no_points": {"fr": "Aucun compteur n'est encore rattaché à votre compte.",
                                  "en": "No meter is linked to your account yet."},
    "portal.overview.stop_all": {"fr": "Tout arrêter pour une application",
                                 "en": "Stop everything for one app"},
    "portal.overview.stop_all_intro": {
        "fr": "Retire en une fois tous les accès d'une application, sur tous vos compteurs.",
        "en": "Withdraws all of an app's access at once, on all your meters."},
    "portal.overview.stop_all_button": {"fr": "Tout retirer à {recipient}",
                                        "en": "Withdraw everything from {recipient}"},
    "portal.overview.ended": {"fr": "Accès terminés", "en": "Ended access"},
    "portal.overview.ended_show": {"fr": "Afficher les {n} accès terminés",
                                   "en": "Show the {n} ended access grants"},
    "portal.overview.ended_show#one": {"fr": "Afficher {n} accès terminé",
                                       "en": "Show {n} ended access grant"},
    "portal.overview.ended_on": {"fr": "Terminé le", "en": "Ended on"},
    "portal.terms.what": {"fr": "Données", "en": "Data"},
    "portal.terms.why": {"fr": "Pourquoi", "en": "Why"},
    "portal.terms.points": {"fr": "Compteurs", "en": "Meters"},
    "portal.terms.resolution": {"fr": "Précision la plus fine", "en": "Finest resolution"},
    "portal.terms.history": {"fr": "Jusqu'où dans le passé", "en": "How far back"},
    "portal.terms.history_days": {"fr": "{n} jours", "en": "{n} days"},
    "portal.terms.history_days#one": {"fr": "{n} jour", "en": "{n} day"},
    "portal.terms.not_before": {"fr": "pas avant le", "en": "not before"},
    "portal.terms.period": {"fr": "Depuis → jusqu'au", "en": "Since → until"},
    "portal.terms.last_read": {"fr": "Dernière lecture", "en": "Last read"},
    "portal.terms.view": {"fr": "Usage permis", "en": "Use allowed"},
    "portal.terms.view_individual": {
        "fr": "Accord individuel : l'application lit les données de chaque compteur, séparément.",
        "en": "Individual consent: the app reads the data of each meter, on its own."},
    "portal.terms.view_community": {
        "fr": "Accord collectif : vos données servent uniquement au total de l'opération "
              "« {name} », additionnées à celles d'au moins {k} foyers ; jamais seules (R4).",
        "en": "Community consent: your data is used only in the total of the operation "
              "“{name}”, added to those of at least {k} households; never on its own (R4)."},
    # R17: a read is counted for 20 months at most, then forgotten.
    "portal.terms.reads": {"fr": "{n} lectures sur les 20 derniers mois",
                           "en": "{n} reads in the last 20 months"},
    "portal.terms.reads#one": {"fr": "{n} lecture sur les 20 derniers mois",
                               "en": "{n} read in the last 20 months"},
    "portal.terms.read_long_ago": {"fr": "il y a plus de 31 jours",
                                   "en": "more than 31 days ago"},
    "portal.terms.never": {"fr": "jamais", "en": "never"},
    "portal.consent.intro": {
        "fr": "Ce que cette application peut lire, et ce que vous pouvez décider.",
        "en": "What this app may read, and what you can decide."},
    "portal.consent.replaces": {"fr": "Cet accord remplace un", "en": "This consent replaces a"},
    "portal.consent.previous": {"fr": "accord précédent, plus large",
                                "en": "previous, wider consent"},
    "portal.consent.terms": {"fr": "Ce qui est autorisé", "en": "What is allowed"},
    "portal.consent.answer": {"fr": "Votre réponse", "en": "Your answer"},
    "portal.consent.narrow": {"fr": "Restreindre", "en": "Narrow"},
    "portal.consent.narrow_intro": {
        "fr": "Retirez des compteurs ou des données, choisissez une précision moins fine, "
              "moins d'historique ou une fin plus proche. L'application ne pourra plus lire "
              "au-delà, dès maintenant.",
        "en": "Remove meters or data, choose a coarser resolution, less history or an earlier "
              "end. The app can no longer read beyond that, from now on."},
    "portal.consent.days_max": {"fr": "(1 à {n} jours)", "en": "(1 to {n} days)"},
    "portal.consent.days_max#one": {"fr": "({n} jour au plus)", "en": "({n} day at most)"},
    "portal.consent.until": {"fr": "Jusqu'au (inclus)", "en": "Until (included)"},
    "portal.consent.until_hint": {"fr": "pas après la fin actuelle",
                                  "en": "not after the current end"},
    "portal.consent.narrow_button": {"fr": "Restreindre l'accès", "en": "Narrow the access"},
    "portal.consent.renew": {"fr": "Prolonger", "en": "Renew"},
    "portal.consent.renew_until": {"fr": "Nouvelle fin (incluse)", "en": "New end (included)"},
    "portal.consent.renew_hint": {"fr": "au plus trois ans à partir d'aujourd'hui",
                                  "en": "at most three years from today"},
    "portal.consent.renew_button": {"fr": "Prolonger l'accès", "en": "Renew the access"},
    "portal.consent.withdraw": {"fr": "Retirer", "en": "Withdraw"},
    "portal.consent.withdraw_intro": {
        "fr": "{recipient} ne pourra plus lire aucune de ces données, dès sa prochaine "
              "demande. Les données déjà transmises restent soumises à ses propres "
              "obligations (RGPD).",
        "en": "{recipient} will not be able to read any of this data, from its next request. "
              "Data already sent remains under its own obligations (GDPR)."},
    "portal.consent.withdraw_button": {"fr": "Retirer l'accès maintenant",
                                       "en": "Withdraw the access now"},
    "portal.consent.history": {"fr": "Historique de cet accord", "en": "History of this consent"},
    "portal.consent.event": {"fr": "Événement", "en": "Event"},
    "portal.consent.by": {"fr": "Par", "en": "By"},
    "portal.action.request": {"fr": "demandé", "en": "requested"},
    "portal.action.grant": {"fr": "accordé", "en": "granted"},
    "portal.action.refuse": {"fr": "refusé", "en": "refused"},
    "portal.action.renew": {"fr": "prolongé", "en": "renewed"},
    "portal.action.suspend": {"fr": "suspendu", "en": "suspended"},
    "portal.action.resume": {"fr": "repris", "en": "resumed"},
    "portal.action.withdraw": {"fr": "retiré", "en": "withdrawn"},
    "portal.action.revoke": {"fr": "révoqué", "en": "revoked"},
    "portal.action.expire": {"fr": "expiré", "en": "expired"},
    "portal.grant.title": {"fr": "Donner un accès à une application",
                           "en": "Give an app access"},
    "portal.grant.intro": {
        "fr": "Choisissez une application du registre public, puis exactement ce qu'elle "
              "pourra lire. Vous pourrez restreindre ou retirer cet accès à tout moment.",
        "en": "Choose an app from the public register, then exactly what it may read. You can "
              "narrow or withdraw this access at any time."},
    "portal.grant.recipient": {"fr": "Application", "en": "App"},
    "portal.grant.choose": {"fr": "— choisir —", "en": "— choose —"},
    "portal.grant.show": {"fr": "Afficher", "en": "Show"},
    "portal.grant.points_hint": {"fr": "(au plus {n} ; au-delà, une demande écrite)",
                                 "en": "(at most {n}; more needs a written request)"},
    "portal.grant.no_dataset": {
        "fr": "Cette application ne lit aucune donnée que vos compteurs mesurent.",
        "en": "This app reads no data your meters measure."},
    "portal.grant.resolution_hint": {"fr": "« 1 jour » est le plus protecteur",
                                     "en": "“1 day” protects you the most"},
    "portal.grant.submit": {"fr": "Accorder l'accès", "en": "Grant access"},
    "portal.done.withdrawn": {
        "fr": "C'est fait : {recipient} n'a plus accès à ces données, dès maintenant.",
        "en": "Done: {recipient} no longer has access to this data, from now on."},
    "portal.done.withdrawn_all": {
        "fr": "C'est fait : tous les accès de {recipient} sont retirés ({count}).",
        "en": "Done: all of {recipient}'s access is withdrawn ({count})."},
    "portal.done.granted": {"fr": "C'est fait : {recipient} a maintenant accès, comme indiqué.",
                            "en": "Done: {recipient} now has access, as shown."},
    "portal.done.refused": {"fr": "C'est fait : la demande de {recipient} est refusée.",
                            "en": "Done: {recipient}'s request is refused."},
    "portal.done.renewed": {"fr": "C'est fait : l'accès de {recipient} est prolongé.",
                            "en": "Done: {recipient}'s access is renewed."},
    "portal.done.narrowed": {
        "fr": "C'est fait : l'accès de {recipient} est restreint, dès maintenant. Voici le "
              "nouvel accord.",
        "en": "Done: {recipient}'s access is narrowed, from now on. Here is the new consent."},
    "portal.err.points": {"fr": "Choisissez parmi vos compteurs.",
                          "en": "Choose among your meters."},
    "portal.err.points.none": {"fr": "Choisissez au moins un compteur.",
                               "en": "Choose at least one meter."},
    "portal.err.points.points": {"fr": "Gardez au moins un des compteurs de l'accord.",
                                 "en": "Keep at least one of the consent's meters."},
    "portal.err.points.r14": {
        "fr": "Au plus deux compteurs : au-delà, la demande passe par un mandat écrit (R14).",
        "en": "At most two meters: beyond that, the request needs a written mandate (R14)."},
    "portal.err.points.r14_consent_held": {
        "fr": "Cette application a déjà accès à d'autres de vos compteurs : avec ceux-ci, elle "
              "en aurait plus de deux. Au-delà de deux, la demande passe par un mandat écrit "
              "(R14).",
        "en": "This app already has access to other meters of yours: with these, it would "
              "have more than two. Beyond two, the request needs a written mandate (R14)."},
    "portal.err.datasets": {
        "fr": "Ces données ne sont pas possibles pour ces compteurs ou cette application.",
        "en": "This data is not possible for these meters or this app."},
    "portal.err.datasets.none": {"fr": "Choisissez au moins une donnée.",
                                 "en": "Choose at least one kind of data."},
    "portal.err.datasets.datasets": {"fr": "Gardez au moins une des données de l'accord.",
                                     "en": "Keep at least one of the consent's data."},
    "portal.err.resolution": {"fr": "Choisissez une précision de la liste.",
                              "en": "Choose a resolution from the list."},
    "portal.err.resolution.resolution": {
        "fr": "Une restriction ne peut pas être plus précise que l'accord actuel.",
        "en": "A narrowing cannot be finer than the current consent."},
    "portal.err.history_days": {"fr": "Au plus trois ans d'historique (1095 jours).",
                                "en": "At most three years of history (1095 days)."},
    "portal.err.history_days.history": {
        "fr": "Une restriction ne peut pas remonter plus loin que l'accord actuel.",
        "en": "A narrowing cannot reach further back than the current consent."},
    "portal.err.until": {
        "fr": "Choisissez une fin après aujourd'hui et au plus trois ans plus tard.",
        "en": "Choose an end after today and at most three years away."},
    "portal.err.until.not_later": {
        "fr": "Choisissez une fin après la fin actuelle de l'accès, et au plus trois ans plus "
              "tard qu'aujourd'hui.",
        "en": "Choose an end later than the current end of the access, and at most three "
              "years from today."},
    "portal.err.until.until": {
        "fr": "Choisissez une fin après aujourd'hui et pas après la fin actuelle.",
        "en": "Choose an end after today and not after the current end."},
    "portal.err.form.unchanged": {
        "fr": "Rien ne change : retirez au moins un élément.",
        "en": "Nothing changes: take away at least one thing."},
    "portal.err.form.not_active": {"fr": "Seul un accord actif peut être restreint.",
                                   "en": "Only an active consent can be narrowed."},
    "portal.err.recipient": {"fr": "Choisissez une application du registre.",
                             "en": "Choose an app from the register."},
    "portal.err.purpose": {"fr": "Choisissez une des finalités déclarées.",
                           "en": "Choose one of the declared purposes."},
}
