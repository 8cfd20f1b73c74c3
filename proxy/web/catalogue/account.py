"""Claiming a point, the meter port, sign-in (reset, OpenID), security, own evidence
(proxy/portal/claims.py, port.py, identity.py, oidc.py, evidence.py)."""

from proxy.web.lang import Catalogue

MESSAGES: Catalogue = {
    "portal.claim.title": {"fr": "Ajouter un compteur", "en": "Add a meter"},
    "portal.claim.intro": {
        "fr": "Prouvez que vous êtes le client de ce compteur : saisissez son numéro de point "
              "et le numéro imprimé sur le compteur lui-même. Seul l'occupant peut le lire.",
        "en": "Prove that you are this meter's client: type its point number and the number "
              "printed on the meter itself. Only the occupant can read it."},
    "portal.claim.source": {"fr": "Gestionnaire de réseau", "en": "Grid operator"},
    "portal.claim.identifier": {"fr": "Numéro du point", "en": "Point number"},
    "portal.claim.identifier_hint": {
        "fr": "PRM ou PDL (14 chiffres), PCE, ou EAN (18 chiffres) : sur votre facture",
        "en": "PRM or PDL (14 digits), PCE, or EAN (18 digits): on your bill"},
    "portal.claim.meter_number": {"fr": "Numéro du compteur", "en": "Meter number"},
    "portal.claim.meter_number_hint": {
        "fr": "imprimé sur le compteur (les espaces ne comptent pas)",
        "en": "printed on the meter (spaces do not matter)"},
    "portal.claim.submit": {"fr": "Ajouter ce compteur", "en": "Add this meter"},
    "portal.claim.other_sources": {
        "fr": "Pour les autres gestionnaires, l'ajout passe par leur propre page d'accord.",
        "en": "For other grid operators, adding a meter goes through their own consent page."},
    "portal.claim.upstream_title": {"fr": "Ou par la page de votre gestionnaire",
                                    "en": "Or through your grid operator's page"},
    "portal.claim.upstream_intro": {
        "fr": "Donnez votre accord sur le site de votre gestionnaire de réseau : il nous dira "
              "lui-même quels compteurs sont les vôtres.",
        "en": "Give your consent on your grid operator's own site: it tells us itself which "
              "meters are yours."},
    "portal.claim.upstream_button": {"fr": "Continuer chez {dso}", "en": "Continue at {dso}"},
    "portal.done.claimed_upstream": {
        "fr": "C'est fait : compteurs rattachés par votre gestionnaire : {points}.",
        "en": "Done: meters linked through your grid operator: {points}."},
    "portal.err.claim.none": {
        "fr": "Aucun compteur n'a pu être rattaché. Contactez l'opérateur.",
        "en": "No meter could be linked. Contact the operator."},
    "portal.claim.method.meter_number": {"fr": "numéro du compteur", "en": "meter number"},
    "portal.claim.method.upstream": {"fr": "page du gestionnaire", "en": "grid operator's page"},
    "portal.source.enedis": {"fr": "Enedis (électricité, France)",
                             "en": "Enedis (electricity, France)"},
    "portal.source.grdf": {"fr": "GRDF (gaz, France)", "en": "GRDF (gas, France)"},
    "portal.source.be_ean": {"fr": "Belgique (EAN)", "en": "Belgium (EAN)"},
    "portal.source.inhouse": {"fr": "Gestionnaire de cette plateforme",
                              "en": "This platform's grid operator"},
    "portal.err.source": {"fr": "Choisissez un gestionnaire de la liste.",
                          "en": "Choose a grid operator from the list."},
    "portal.err.identifier": {"fr": "Ce numéro de point n'a pas le bon format.",
                              "en": "This point number does not have the right format."},
    "portal.err.meter_number": {
        "fr": "Le numéro du compteur ne correspond pas à ce point.",
        "en": "The meter number does not match this point."},
    "portal.err.claim.no_meter_check": {
        "fr": "Pour ce gestionnaire, passez par sa propre page d'accord.",
        "en": "For this grid operator, go through its own consent page."},
    "portal.err.claim.unavailable": {
        "fr": "Le gestionnaire de réseau ne répond pas pour l'instant. Réessayez plus tard.",
        "en": "The grid operator is not answering right now. Try again later."},
    "portal.err.claim.inactive": {
        "fr": "Le gestionnaire ne connaît pas de client actuel pour ce point.",
        "en": "The grid operator knows no current client for this point."},
    "portal.err.claim.throttled": {
        "fr": "Trop d'essais. Réessayez dans une heure, ou contactez l'opérateur.",
        "en": "Too many attempts. Try again in an hour, or contact the operator."},
    "portal.err.claim.taken": {
        "fr": "Ce compteur est déjà rattaché à un autre ménage pour la même période. "
              "Contactez l'opérateur.",
        "en": "This meter is already linked to another household for the same period. "
              "Contact the operator."},
    "portal.done.claimed": {"fr": "C'est fait : le compteur {point} est rattaché à votre compte.",
                            "en": "Done: the meter {point} is linked to your account."},
    "portal.port.title": {"fr": "Port client du compteur", "en": "Meter user port"},
    "portal.port.intro": {
        "fr": "Le port client (prise TIC ou P1) permet de brancher votre propre afficheur. "
              "Le gestionnaire l'ouvre ou le ferme à votre demande, en {hours} heures au plus.",
        "en": "The user port (TIC or P1 socket) lets you plug in your own display. The grid "
              "operator opens or closes it on request, within {hours} hours."},
    "portal.port.none": {"fr": "Ce compteur n'a pas de port client.",
                         "en": "This meter has no user port."},
    "portal.port.unavailable": {
        "fr": "Le gestionnaire ne répond pas pour l'instant ; l'état du port est inconnu.",
        "en": "The grid operator is not answering right now; the port's state is unknown."},
    "portal.port.state": {"fr": "État actuel :", "en": "Current state:"},
    "portal.port.open": {"fr": "ouvert", "en": "open"},
    "portal.port.closed": {"fr": "fermé", "en": "closed"},
    "portal.port.pending": {"fr": "une demande est en cours", "en": "a request is in progress"},
    "portal.port.do_open": {"fr": "Demander l'ouverture", "en": "Ask to open it"},
    "portal.port.do_close": {"fr": "Demander la fermeture", "en": "Ask to close it"},
    "portal.port.requests": {"fr": "Mes demandes", "en": "My requests"},
    "portal.port.asked": {"fr": "Demandé le", "en": "Asked on"},
    "portal.port.what": {"fr": "Demande", "en": "Request"},
    "portal.port.deadline": {"fr": "À faire avant", "en": "Due by"},
    "portal.port.action.open": {"fr": "ouverture", "en": "open"},
    "portal.port.action.close": {"fr": "fermeture", "en": "close"},
    "portal.done.port_open": {
        "fr": "Demande d'ouverture transmise. Le gestionnaire a 24 heures pour l'effectuer.",
        "en": "Request to open sent. The grid operator has 24 hours to carry it out."},
    "portal.done.port_close": {
        "fr": "Demande de fermeture transmise. Le gestionnaire a 24 heures pour l'effectuer.",
        "en": "Request to close sent. The grid operator has 24 hours to carry it out."},
    "portal.err.port.action": {"fr": "Demande inconnue.", "en": "Unknown request."},
    "portal.err.port.pending": {"fr": "Une demande est déjà en cours pour ce compteur.",
                                "en": "A request is already in progress for this meter."},
    "portal.err.port.unavailable": {
        "fr": "Le gestionnaire ne répond pas pour l'instant. Réessayez plus tard.",
        "en": "The grid operator is not answering right now. Try again later."},
    "portal.reset.title": {"fr": "Nouveau mot de passe", "en": "New password"},
    "portal.reset.intro": {
        "fr": "Pas de courriel : demandez un code de réinitialisation à l'opérateur (au "
              "guichet, par téléphone ou par courrier), puis prouvez que vous occupez le "
              "logement avec le numéro imprimé sur l'un de vos compteurs.",
        "en": "No e-mail involved: ask the operator for a reset code (at the counter, by phone "
              "or by letter), then prove you live there with the number printed on one of "
              "your meters."},
    "portal.reset.code": {"fr": "Code de réinitialisation", "en": "Reset code"},
    "portal.reset.code_hint": {"fr": "16 caractères, comme XXXX-XXXX-XXXX-XXXX",
                               "en": "16 characters, like XXXX-XXXX-XXXX-XXXX"},
    "portal.reset.meter_hint": {"fr": "celui de l'un de vos compteurs",
                                "en": "the one of any of your meters"},
    "portal.reset.new": {"fr": "Nouveau mot de passe", "en": "New password"},
    "portal.reset.new_hint": {"fr": "au moins 10 caractères", "en": "at least 10 characters"},
    "portal.reset.again": {"fr": "Le même, encore une fois", "en": "The same, once more"},
    "portal.reset.submit": {"fr": "Changer le mot de passe", "en": "Change the password"},
    "portal.err.reset.proof": {
        "fr": "L'identifiant, le code ou le numéro du compteur est incorrect, ou le code a "
              "expiré.",
        "en": "The username, the code or the meter number is wrong, or the code has expired."},
    "portal.err.password.mismatch": {"fr": "Les deux mots de passe diffèrent.",
                                     "en": "The two passwords differ."},
    "portal.err.password.current": {"fr": "Ce n'est pas votre mot de passe actuel.",
                                    "en": "This is not your current password."},
    "portal.err.password.too_short": {"fr": "Au moins 10 caractères.",
                                      "en": "At least 10 characters."},
    "portal.err.password.too_long": {"fr": "Au plus 1024 caractères.",
                                     "en": "At most 1024 characters."},
    "portal.err.password.is_username": {"fr": "Le mot de passe ne peut pas être l'identifiant.",
                                        "en": "The password cannot be the username."},
    "portal.err.password": {"fr": "Ce mot de passe n'est pas accepté.",
                            "en": "This password is not accepted."},
    "portal.done.reset": {
        "fr": "Mot de passe changé. Toutes vos autres sessions sont fermées.",
        "en": "Password changed. All your other sessions are closed."},
    "portal.security.title": {"fr": "Sécurité de mon compte", "en": "My account's security"},
    "portal.security.method": {"fr": "Vous êtes connecté par {method}.",
                               "en": "You are signed in with {method}."},
    "portal.method.password": {"fr": "mot de passe", "en": "a password"},
    "portal.method.reset": {"fr": "code de réinitialisation", "en": "a reset code"},
    "portal.method.oidc": {"fr": "fournisseur d'identité", "en": "an identity provider"},
    "portal.security.identities": {"fr": "Identités liées", "en": "Linked identities"},
    "portal.security.since": {"fr": "depuis le", "en": "since"},
    "portal.security.link": {"fr": "Lier une identité {provider} à ce compte",
                             "en": "Link a {provider} identity to this account"},
    "portal.security.no_identity": {"fr": "Aucune identité externe n'est liée à ce compte.",
                                    "en": "No external identity is linked to this account."},
    "portal.security.proof": {"fr": "preuve", "en": "proof"},
    "portal.security.proof.meter_number": {"fr": "numéro du compteur",
                                           "en": "meter number"},
    "portal.security.proof.session_meter_number": {
        "fr": "session ouverte et numéro du compteur", "en": "signed-in session and meter number"},
    "portal.security.proof.other": {"fr": "autre", "en": "other"},
    "portal.security.last_used": {"fr": "dernière connexion le", "en": "last sign-in"},
    "portal.security.remove_intro": {
        "fr": "Une identité liée ouvre ce compte même après un changement de mot de passe. "
              "Retirez celle que vous ne reconnaissez pas : elle ne pourra plus se connecter, et "
              "les sessions qu'elle a ouvertes, sur tous les appareils, seront fermées.",
        "en": "A linked identity opens this account even after a password change. Remove any "
              "you do not recognise: it will no longer sign in, and the sessions it opened, on "
              "every device, will be closed."},
    "portal.security.this_session": {
        "fr": "vous êtes connecté avec elle : la retirer vous déconnecte",
        "en": "you are signed in with it: removing it signs you out"},
    "portal.security.remove_button": {"fr": "Retirer l'identité {provider} {subject}",
                                      "en": "Remove the {provider} identity {subject}"},
    "portal.err.identity.last_way_in": {
        "fr": "Cette identité est le seul moyen d'entrer dans votre compte : liez d'abord une "
              "autre identité, ou choisissez un mot de passe ci-dessous.",
        "en": "This identity is the only way into your account: link another identity first, "
              "or choose a password below."},
    "portal.done.oidc_unlinked": {
        "fr": "Identité retirée : elle ne peut plus se connecter. Les sessions qu'elle avait "
              "ouvertes sont fermées ({count}).",
        "en": "Identity removed: it can no longer sign in. The sessions it had opened are "
              "closed ({count})."},
    "portal.done.oidc_unlinked_signed_out": {
        "fr": "Identité retirée : elle ne peut plus se connecter. Cette session avait été "
              "ouverte avec elle : elle est fermée, comme les autres qu'elle avait ouvertes "
              "({count}). Reconnectez-vous avec votre mot de passe ou une autre identité.",
        "en": "Identity removed: it can no longer sign in. This session was opened with it: "
              "it is closed, like the others it had opened ({count}). Sign in again with your "
              "password or another identity."},
    "portal.security.password": {"fr": "Changer de mot de passe", "en": "Change the password"},
    "portal.security.current": {"fr": "Mot de passe actuel", "en": "Current password"},
    "portal.security.change": {"fr": "Changer", "en": "Change"},
    "portal.security.first_password": {"fr": "Choisir un mot de passe",
                                       "en": "Choose a password"},
    "portal.security.first_password_intro": {
        "fr": "Votre compte n'a pas encore de mot de passe. Avec un mot de passe, vous pourrez "
              "aussi vous connecter sans fournisseur d'identité.",
        "en": "Your account has no password yet. With one, you can also sign in without an "
              "identity provider."},
    "portal.security.choose": {"fr": "Choisir ce mot de passe", "en": "Choose this password"},
    "portal.security.reauth_needed": {
        "fr": "Pour votre sécurité, choisir un premier mot de passe demande une connexion de "
              "moins de {minutes} minutes. Reconnectez-vous : vous reviendrez ici.",
        "en": "For your safety, choosing a first password takes a sign-in less than {minutes} "
              "minutes old. Sign in again: you will come back here."},
    "portal.err.password.not_recent": {
        "fr": "Votre connexion date de plus de {minutes} minutes : pour votre sécurité, "
              "reconnectez-vous avant de choisir un premier mot de passe. Rien n'a changé.",
        "en": "You signed in more than {minutes} minutes ago: for your safety, sign in again "
              "before choosing a first password. Nothing changed."},
    "portal.security.reauth": {"fr": "Se reconnecter avec {provider}",
                               "en": "Sign in again with {provider}"},
    "portal.security.reauth_reset": {
        "fr": "Choisir un mot de passe avec un code de réinitialisation de l'opérateur",
        "en": "Choose a password with a reset code from the operator"},
    "portal.err.password.now_set": {
        "fr": "Ce compte a maintenant un mot de passe (choisi dans un autre onglet ?) : "
              "rechargez la page et tapez-le pour le changer.",
        "en": "This account has a password now (chosen in another tab?): reload the page and "
              "type it to change it."},
    "portal.done.password_set": {
        "fr": "Mot de passe choisi. Vos autres sessions sont fermées.",
        "en": "Password set. Your other sessions are closed."},
    "portal.security.everywhere": {"fr": "Se déconnecter partout", "en": "Sign out everywhere"},
    "portal.security.everywhere_intro": {
        "fr": "Ferme toutes les sessions de ce compte, sur tous les appareils, celle-ci "
              "comprise.",
        "en": "Closes every session of this account, on every device, this one included."},
    "portal.security.everywhere_button": {"fr": "Se déconnecter partout",
                                          "en": "Sign out everywhere"},
    "portal.done.password": {
        "fr": "Mot de passe changé. Vos autres sessions sont fermées.",
        "en": "Password changed. Your other sessions are closed."},
    "portal.done.logout_all": {"fr": "Toutes vos sessions sont fermées ({count}).",
                               "en": "All your sessions are closed ({count})."},
    "portal.signed_out.title": {"fr": "Vous êtes déconnecté", "en": "You are signed out"},
    "portal.oidc.unavailable": {
        "fr": "Le fournisseur d'identité ne répond pas. Réessayez plus tard.",
        "en": "The identity provider is not answering. Try again later."},
    "portal.oidc.expired": {
        "fr": "Cette connexion a expiré ou n'a pas commencé ici. Recommencez.",
        "en": "This sign-in has expired or did not start here. Start again."},
    "portal.oidc.cancelled": {"fr": "La connexion a été annulée.",
                              "en": "The sign-in was cancelled."},
    "portal.oidc.refused": {
        "fr": "La réponse du fournisseur d'identité n'a pas pu être vérifiée.",
        "en": "The identity provider's answer could not be verified."},
    "portal.oidc.not_recent": {
        "fr": "Le fournisseur d'identité n'a pas confirmé que vous venez de vous identifier. "
              "Recommencez ; s'il ne vous le redemande pas, contactez l'opérateur.",
        "en": "The identity provider did not confirm that you have just signed in. Start "
              "again; if it does not ask you to sign in, contact the operator."},
    "portal.oidc.link_title": {"fr": "Première connexion", "en": "First sign-in"},
    "portal.oidc.link_intro": {
        "fr": "{provider} a confirmé votre identité. Une seule fois, montrez quel logement est "
              "le vôtre : le numéro d'un de vos points et le numéro imprimé sur son compteur.",
        "en": "{provider} confirmed who you are. Once only, show which home is yours: the "
              "number of one of your points and the number printed on its meter."},
    "portal.oidc.link_submit": {"fr": "Continuer", "en": "Continue"},
    "portal.oidc.has_account": {
        "fr": "Ce logement a déjà un compte sur Passerelle : le numéro du compteur ne suffit pas "
              "pour y entrer. Connectez-vous d'abord avec ce compte, puis connectez-vous à "
              "nouveau avec {provider} pour l'y lier.",
        "en": "This home already has an account on Passerelle: the meter number is not enough "
              "to enter it. Sign in with that account first, then sign in with {provider} "
              "again to link it."},
    "portal.oidc.sign_in_first": {"fr": "Se connecter avec le compte du logement",
                                  "en": "Sign in with the home's account"},
    "portal.oidc.session_not_recent": {
        "fr": "Vous êtes connecté à ce compte depuis plus de {minutes} minutes : pour votre "
              "sécurité, lier une nouvelle identité demande une connexion récente. Reconnectez-"
              "vous d'abord à ce compte, puis à nouveau avec {provider}. Rien n'a été lié.",
        "en": "You signed in to this account more than {minutes} minutes ago: for your safety, "
              "linking a new identity to it takes a recent sign-in. Sign in to this account "
              "again first, then with {provider} again. Nothing was linked."},
    "portal.oidc.sign_in_again": {"fr": "Se reconnecter au compte du logement",
                                  "en": "Sign in to the home's account again"},
    "portal.oidc.conflict": {
        "fr": "Cette identité est déjà liée à un compte qui ne peut pas se connecter. "
              "Contactez l'opérateur.",
        "en": "This identity is already linked to an account that cannot sign in. Contact "
              "the operator."},
    "portal.done.oidc_linked": {
        "fr": "Votre identité est liée à votre logement. Vous pourrez vous connecter ainsi.",
        "en": "Your identity is linked to your home. You can sign in this way from now on."},
    "portal.evidence.title": {"fr": "Mes preuves", "en": "My evidence"},
    "portal.evidence.intro": {
        "fr": "Téléchargez tout ce que Passerelle garde comme preuves vous concernant (droit "
              "d'accès, RGPD art. 15), dans le format remis aux auditeurs :",
        "en": "Download everything Passerelle keeps as evidence about you (right of access, "
              "GDPR Art. 15), in the format auditors receive:"},
    "portal.evidence.has_records": {
        "fr": "chaque accord et chaque mandat, à chaque changement, signé ;",
        "en": "every consent and mandate, at every change, signed;"},
    "portal.evidence.has_accesses": {
        "fr": "les actions de votre espace (port du compteur, ajout de compteur, connexions) ;",
        "en": "the actions of your page (meter port, meters added, sign-in links);"},
    "portal.evidence.has_proofs": {"fr": "les documents que vous avez envoyés.",
                                   "en": "the documents you uploaded."},
    "portal.evidence.verify": {
        "fr": "Le fichier se vérifie hors ligne : toute modification se voit.",
        "en": "The file can be checked offline: any change shows."},
    "portal.evidence.download": {"fr": "Télécharger mes preuves (zip)",
                                 "en": "Download my evidence (zip)"},
    "portal.evidence.claims": {"fr": "Ajouts de compteurs", "en": "Meters added"},
    "portal.evidence.method": {"fr": "Preuve", "en": "Proof"},
    "portal.err.evidence": {
        "fr": "Les preuves ne sont pas disponibles pour l'instant. Réessayez plus tard.",
        "en": "The evidence is not available right now. Try again later."},
}
