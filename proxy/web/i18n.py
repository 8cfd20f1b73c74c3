"""French and English for the household pages.

The language is chosen, in order, by ``?lang=fr|en`` (remembered in a ``lang`` cookie), the
``lang`` cookie, then the ``Accept-Language`` header (RFC 9110 §12.5.4 q-values), then French.
Every message has both languages: :func:`check_catalogue` is run by the tests. A number
shown in a sentence goes through :func:`translate_count`, which picks the singular or the
plural entry by each language's rule (never "1 days" nor "1 jours").
"""

from __future__ import annotations

from aiohttp import web

from proxy.web.catalogue import PORTAL_MESSAGES
from proxy.web.lang import DEFAULT_LANG, LANGS, ONE, Catalogue, Lang, is_singular

LANG_COOKIE = "lang"

MESSAGES: Catalogue = {
    "site.name": {"fr": "Passerelle", "en": "Passerelle"},
    "site.switch": {"fr": "English", "en": "Français"},
    "login.title": {"fr": "Connexion", "en": "Sign in"},
    "login.intro": {"fr": "Connectez-vous pour gérer l'accès à vos données de compteur.",
                    "en": "Sign in to manage who may read your meter data."},
    "login.username": {"fr": "Identifiant", "en": "Username"},
    "login.password": {"fr": "Mot de passe", "en": "Password"},
    "login.submit": {"fr": "Se connecter", "en": "Sign in"},
    "login.failed": {"fr": "Identifiant ou mot de passe incorrect.",
                     "en": "Wrong username or password."},
    "login.throttled": {"fr": "Trop de tentatives. Réessayez dans quelques minutes.",
                        "en": "Too many attempts. Try again in a few minutes."},
    "login.forgot": {"fr": "Mot de passe oublié ?", "en": "Forgot your password?"},
    "login.with": {"fr": "Se connecter avec {provider}", "en": "Sign in with {provider}"},
    "logout.submit": {"fr": "Se déconnecter", "en": "Sign out"},
    "consent.title": {"fr": "Autoriser l'accès à vos données",
                      "en": "Allow access to your data"},
    "consent.asks": {"fr": "demande à lire des données de vos compteurs.",
                     "en": "asks to read data from your meters."},
    "consent.who": {"fr": "Qui demande", "en": "Who is asking"},
    "consent.website": {"fr": "Site", "en": "Website"},
    "consent.contact": {"fr": "Contact", "en": "Contact"},
    "consent.role": {"fr": "Rôle au sens du RGPD", "en": "GDPR role"},
    "role.controller": {"fr": "responsable de traitement", "en": "controller"},
    "role.processor": {"fr": "sous-traitant", "en": "processor"},
    "consent.why": {"fr": "Pourquoi", "en": "Why"},
    "consent.legal_basis": {"fr": "Base légale", "en": "Legal basis"},
    "consent.view": {"fr": "Ce que l'application peut en faire",
                     "en": "What the app may do with it"},
    "consent.view.individual": {
        "fr": "Lire les données de chacun des compteurs choisis, séparément.",
        "en": "Read the data of each chosen meter, on its own."},
    "consent.view.community": {
        "fr": "Utiliser vos données uniquement dans le total de l'opération d'autoconsommation "
              "collective « {name} », additionnées à celles d'au moins {k} foyers : "
              "jamais vos données seules (accord collectif, R4).",
        "en": "Use your data only inside the total of the collective self-consumption "
              "operation “{name}”, added to those of at least {k} households: never your data "
              "on its own (community consent, R4)."},
    "consent.no_community": {
        "fr": "Cette demande nomme une opération d'autoconsommation collective que "
              "l'application n'organise pas.",
        "en": "This request names a collective self-consumption operation the app does not "
              "organise."},
    "consent.points": {"fr": "Quels compteurs", "en": "Which meters"},
    "consent.no_points": {
        "fr": "Aucun de vos compteurs ne correspond à cette demande.",
        "en": "None of your meters matches this request."},
    "consent.foreign_points": {
        "fr": "L'application a aussi demandé des compteurs qui ne sont pas les vôtres ; "
              "ils ne seront pas partagés :",
        "en": "The app also asked for meters that are not yours; they will not be shared:"},
    "consent.already_held": {
        "fr": "Cette application a déjà accès à {n} des compteurs de ce foyer, affichés ici "
              "ou non : ils comptent dans la limite.",
        "en": "This app can already read {n} of the meters of this household, shown here or "
              "not: they count towards the limit."},
    "consent.held_point": {"fr": "déjà partagé avec cette application",
                           "en": "already shared with this app"},
    "consent.datasets": {"fr": "Quelles données", "en": "Which data"},
    "consent.sensitive": {"fr": "détaillé : seulement avec votre accord explicite",
                          "en": "detailed: only with your explicit consent"},
    "consent.resolution": {"fr": "Précision maximale", "en": "Finest resolution"},
    "consent.history": {"fr": "Jusqu'à combien de temps en arrière (jours)",
                        "en": "How far back (days)"},
    "consent.duration": {"fr": "Pendant combien de temps (jours)",
                         "en": "For how long (days)"},
    "consent.narrow": {"fr": "Vous pouvez restreindre chaque élément avant d'accepter.",
                       "en": "You can narrow each item before approving."},
    "consent.approve": {"fr": "Accepter", "en": "Approve"},
    "consent.refuse": {"fr": "Refuser", "en": "Refuse"},
    "consent.withdraw_note": {
        "fr": "Vous pourrez retirer cet accord à tout moment depuis votre espace.",
        "en": "You can withdraw this consent at any time from your page."},
    "consent.redirect_to": {"fr": "Vous serez ensuite renvoyé vers",
                            "en": "You will then be sent back to"},
    "consent.not_household": {
        "fr": "Seul un ménage peut autoriser l'accès aux données de ses compteurs.",
        "en": "Only a household can allow access to its meters' data."},
    "consent.not_possible": {
        "fr": "Cet accord n'est pas possible tel quel (par exemple, une donnée n'existe sur "
              "aucun des compteurs choisis). Modifiez votre choix.",
        "en": "This consent is not possible as it stands (for example, a dataset exists on "
              "none of the chosen meters). Change your choice."},
    "consent.on_behalf_of": {"fr": "Au nom du ménage", "en": "On behalf of the household"},
    "consent.of_household": {"fr": "du ménage", "en": "of the household"},
    "consent.other_household": {
        "fr": "Un compteur coché appartient à un autre ménage que celui choisi. Un accord vaut "
              "pour un seul ménage : cochez seulement ses compteurs.",
        "en": "A ticked meter belongs to another household than the one chosen. A consent is "
              "for one household: tick only its meters."},
    "consent.household": {"fr": "Choisissez un des ménages pour lesquels vous agissez.",
                          "en": "Choose one of the households you act for."},
    "consent.too_many_points": {
        "fr": "Cochez au plus deux compteurs : au-delà, l'accord passe par un formulaire signé "
              "vérifié par nos services.",
        "en": "Tick at most two meters: beyond two, consent goes through a signed form "
              "checked by our staff."},
    "consent.other_tenant": {
        "fr": "Ce compte n'appartient pas à l'opérateur de cette application.",
        "en": "This account does not belong to this application's operator."},
    "consent.mandate_scope": {
        "fr": "Votre mandat ne couvre pas ces compteurs, ces données ou cette action.",
        "en": "Your mandate does not cover these meters, these data or this action."},
    "consent.written_path": {
        "fr": "Au-delà de deux compteurs, l'accord passe par un formulaire signé vérifié par "
              "nos services.",
        "en": "Beyond two meters, consent goes through a signed form checked by our staff."},
    "consent.written_path_held": {
        "fr": "Cette application a déjà accès à d'autres compteurs de ce ménage : avec ceux "
              "cochés, elle en aurait plus de deux. Au-delà de deux compteurs, l'accord passe "
              "par un formulaire signé vérifié par nos services.",
        "en": "This application already has access to other meters of this household: with "
              "the ones ticked, it would have more than two. Beyond two meters, consent goes "
              "through a signed form checked by our staff."},
    "consent.nothing": {"fr": "Choisissez au moins un compteur et une donnée.",
                        "en": "Choose at least one meter and one dataset."},
    "consent.text_version": {"fr": "Texte de l'accord, version", "en": "Consent text, version"},
    "consent.text_changed": {
        "fr": "Le texte de cet accord a changé depuis l'affichage de la page. Relisez-le puis "
              "décidez à nouveau.",
        "en": "The text of this consent changed since the page was shown. Read it again, then "
              "decide."},
    "error.title": {"fr": "Demande refusée", "en": "Request refused"},
    "error.intro": {
        "fr": "Cette demande d'autorisation ne peut pas aboutir, et pour votre sécurité nous ne "
              "vous renvoyons pas vers l'application.",
        "en": "This authorization request cannot proceed, and for your safety we do not send "
              "you back to the application."},
    "error.code": {"fr": "Code d'erreur", "en": "Error code"},
    "error.csrf": {"fr": "Le formulaire a expiré. Rechargez la page et recommencez.",
                   "en": "The form has expired. Reload the page and try again."},
    "register.title": {"fr": "Registre des destinataires", "en": "Register of recipients"},
    "register.intro": {
        "fr": "Les applications autorisées à demander l'accès aux données de compteur, avec "
              "leurs finalités, leur base légale et les catégories de données (R21).",
        "en": "The applications allowed to ask for access to meter data, with their purposes, "
              "legal basis and data categories (R21)."},
    "register.name": {"fr": "Destinataire", "en": "Recipient"},
    "register.purposes": {"fr": "Finalités", "en": "Purposes"},
    "register.datasets": {"fr": "Catégories de données", "en": "Data categories"},
    "register.conditions": {
        "fr": "Accès uniquement avec l'accord du ménage, limité aux compteurs, données, "
              "période et précision qu'il a choisis, et révocable à tout moment.",
        "en": "Access only with the household's consent, limited to the meters, data, period "
              "and resolution it chose, and revocable at any time."},
    "register.empty": {"fr": "Aucun destinataire enregistré.",
                       "en": "No recipient registered."},
    "register.json": {"fr": "Ce registre en JSON", "en": "This register as JSON"},
    "basis.consent": {"fr": "consentement (RGPD art. 6.1.a)", "en": "consent (GDPR Art. 6(1)(a))"},
    "basis.contract": {"fr": "contrat (art. 6.1.b)", "en": "contract (Art. 6(1)(b))"},
    "basis.legal_obligation": {"fr": "obligation légale (art. 6.1.c)",
                               "en": "legal obligation (Art. 6(1)(c))"},
    "basis.vital_interests": {"fr": "intérêts vitaux (art. 6.1.d)",
                              "en": "vital interests (Art. 6(1)(d))"},
    "basis.public_task": {"fr": "mission d'intérêt public (art. 6.1.e)",
                          "en": "public task (Art. 6(1)(e))"},
    "basis.legitimate_interests": {"fr": "intérêts légitimes (art. 6.1.f)",
                                   "en": "legitimate interests (Art. 6(1)(f))"},
    "purpose.energy_monitoring": {
        "fr": "Montrer au ménage sa propre consommation et production.",
        "en": "Show the household its own consumption and production."},
    "purpose.energy_advice": {
        "fr": "Conseiller le ménage pour consommer moins ou payer moins.",
        "en": "Advise the household on how to use less energy or pay less."},
    "purpose.solar_assessment": {
        "fr": "Dimensionner ou évaluer une installation solaire pour le ménage.",
        "en": "Size or assess a solar installation for the household."},
    "purpose.collective_self_consumption": {
        "fr": "Partager l'énergie dans une opération d'autoconsommation collective.",
        "en": "Share energy within a collective self-consumption operation."},
    "purpose.supply_contract": {
        "fr": "Facturer et gérer le contrat de fourniture du ménage.",
        "en": "Bill and manage the household's supply contract."},
    "purpose.social_support": {
        "fr": "Accompagner un ménage aidé par les services sociaux.",
        "en": "Support a household assisted by social services."},
    "purpose.research": {
        "fr": "Recherche statistique sur des données pseudonymisées.",
        "en": "Statistical research on pseudonymised data."},
}

MESSAGES.update(PORTAL_MESSAGES)  # the household portal (proxy/portal), one module per area

#: Dataset names for people (the vocabulary's own titles are English).
DATASET_TITLES: dict[str, dict[Lang, str]] = {
    "daily_consumption": {"fr": "Consommation quotidienne", "en": "Daily consumption"},
    "consumption_load_curve": {"fr": "Courbe de charge de consommation",
                               "en": "Consumption load curve"},
    "daily_max_power": {"fr": "Puissance maximale quotidienne", "en": "Daily maximum power"},
    "daily_production": {"fr": "Production quotidienne", "en": "Daily production"},
    "production_load_curve": {"fr": "Courbe de charge de production",
                              "en": "Production load curve"},
    "consumption_index": {"fr": "Index de consommation", "en": "Consumption index"},
    "production_index": {"fr": "Index de production", "en": "Production index"},
    "contract": {"fr": "Contrat", "en": "Contract"},
    "identity": {"fr": "Identité", "en": "Identity"},
    "contact": {"fr": "Coordonnées", "en": "Contact details"},
    "address": {"fr": "Adresse du point de livraison", "en": "Address of the meter"},
}


def translate(lang: Lang, key: str) -> str:
    """The message ``key`` in ``lang``; an unknown key is a bug and raises ``KeyError``."""
    return MESSAGES[key][lang]


def translate_count(lang: Lang, key: str, n: int, **fields: object) -> str:
    """The message ``key`` about ``n`` things, singular or plural as ``lang`` wants, with
    ``{n}`` and ``fields`` filled in; a count message without its singular entry is a bug and
    raises ``KeyError`` (so no page can fall back to "1 days")."""
    form = MESSAGES[key + ONE] if is_singular(lang, n) else MESSAGES[key]
    return form[lang].format(n=n, **fields)


def dataset_title(lang: Lang, dataset: str) -> str:
    """A dataset's name for people, falling back to its identifier."""
    return DATASET_TITLES.get(dataset, {}).get(lang, dataset)


def negotiate(request: web.Request) -> Lang:
    """The page language for ``request`` (see the module docstring for the order)."""
    for candidate in (request.query.get("lang"), request.cookies.get(LANG_COOKIE)):
        if candidate in LANGS:
            return candidate
    return from_accept_language(request.headers.get("Accept-Language", ""))


def from_accept_language(header: str) -> Lang:
    """Best of :data:`LANGS` for an ``Accept-Language`` value; French when nothing matches."""
    best: tuple[float, Lang] | None = None
    for item in header.split(",")[:20]:
        tag, _, params = item.strip().partition(";")
        primary = tag.strip().lower().split("-")[0]
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        if primary in LANGS and q > 0 and (best is None or q > best[0]):
            best = (q, primary)
    return best[1] if best else DEFAULT_LANG


def check_catalogue() -> list[str]:
    """Keys missing a language, or singular entries without their plural (empty when the
    catalogue is complete)."""
    return [key for key, texts in {**MESSAGES, **DATASET_TITLES}.items()
            if set(texts) != set(LANGS) or not all(texts.values())
            or (key.endswith(ONE) and key.removesuffix(ONE) not in MESSAGES)]


def count_keys() -> list[str]:
    """The keys of every message about a count (those with a singular entry)."""
    return sorted(key.removesuffix(ONE) for key in MESSAGES if key.endswith(ONE))
