"""Mandates given by the household and their proofs (proxy/portal/mandates.py)."""

from proxy.web.lang import Catalogue

MESSAGES: Catalogue = {
    "portal.mandates.title": {"fr": "Mes mandats", "en": "My mandates"},
    "portal.mandates.intro": {
        "fr": "Un mandat permet à une personne ou à un organisme (un proche, le CPAS, "
              "l'organisateur d'une autoconsommation collective) d'agir pour vous, dans les "
              "limites que vous fixez.",
        "en": "A mandate lets a person or an organisation (a relative, social services, a "
              "collective self-consumption organiser) act for you, within the limits you set."},
    "portal.mandates.new": {"fr": "Donner un mandat", "en": "Give a mandate"},
    "portal.mandates.new_intro": {
        "fr": "Choisissez qui, pour quoi, sur quels compteurs et jusqu'à quand. Vous pourrez "
              "y mettre fin à tout moment.",
        "en": "Choose who, for what, on which meters and until when. You can end it at any "
              "time."},
    "portal.mandates.none": {"fr": "Vous n'avez donné aucun mandat.",
                             "en": "You have not given any mandate."},
    "portal.mandates.scope": {"fr": "Ce que le mandataire peut faire",
                              "en": "What the mandatary may do"},
    "portal.mandates.scope.read_data": {"fr": "lire mes données", "en": "read my data"},
    "portal.mandates.scope.manage_consents": {"fr": "gérer mes accords pour moi",
                                              "en": "manage my consents for me"},
    "portal.mandates.scope.both": {"fr": "lire mes données et gérer mes accords",
                                   "en": "read my data and manage my consents"},
    "portal.mandates.valid": {"fr": "Validité", "en": "Valid"},
    "portal.mandates.standing": {"fr": "sans date de fin (services sociaux)",
                                 "en": "no end date (social services)"},
    "portal.mandates.who": {"fr": "À qui", "en": "To whom"},
    "portal.mandates.person": {"fr": "Une personne qui a un compte ici",
                               "en": "A person who has an account here"},
    "portal.mandates.username": {"fr": "Son identifiant", "en": "Their username"},
    "portal.mandates.username_hint": {"fr": "seulement pour une personne",
                                      "en": "only for a person"},
    "portal.mandates.until": {"fr": "Jusqu'au (inclus)", "en": "Until (included)"},
    "portal.mandates.standing_choice": {
        "fr": "Sans date de fin (réservé aux services sociaux, R11)",
        "en": "Without an end date (social services only, R11)"},
    "portal.mandates.how": {"fr": "Comment signer", "en": "How to sign"},
    "portal.mandates.online": {
        "fr": "En ligne, maintenant : actif tout de suite (au plus {n} compteurs)",
        "en": "Online, now: active at once (at most {n} meters)"},
    "portal.mandates.online#one": {
        "fr": "En ligne, maintenant : actif tout de suite (au plus {n} compteur)",
        "en": "Online, now: active at once (at most {n} meter)"},
    "portal.mandates.paper": {
        "fr": "Sur papier : j'envoie le mandat signé, l'opérateur le vérifie",
        "en": "On paper: I send the signed mandate, the operator checks it"},
    "portal.mandates.create": {"fr": "Continuer", "en": "Continue"},
    "portal.mandates.one": {"fr": "Mandat", "en": "Mandate"},
    "portal.mandates.one_for": {"fr": "Mandat pour {name}", "en": "Mandate for {name}"},
    "portal.mandates.under_review": {
        "fr": "Votre mandat est en cours de vérification par l'opérateur. Vous verrez ici "
              "sa décision.",
        "en": "Your mandate is being checked by the operator. Its decision will show here."},
    "portal.mandates.proofs": {"fr": "Documents justificatifs", "en": "Supporting documents"},
    "portal.mandates.document": {"fr": "Document", "en": "Document"},
    "portal.mandates.sent": {"fr": "Envoyé le", "en": "Sent on"},
    "portal.mandates.review": {"fr": "Vérification", "en": "Review"},
    "portal.mandates.history": {"fr": "Historique de ce mandat", "en": "History of this mandate"},
    "portal.mstate.requested": {"fr": "en préparation", "en": "being prepared"},
    "portal.mstate.pending_review": {"fr": "en cours de vérification", "en": "under review"},
    "portal.mstate.active": {"fr": "actif", "en": "active"},
    "portal.mstate.suspended": {"fr": "suspendu", "en": "suspended"},
    "portal.mstate.withdrawn": {"fr": "terminé", "en": "ended"},
    "portal.mstate.revoked": {"fr": "révoqué par l'opérateur", "en": "revoked by the operator"},
    "portal.mstate.expired": {"fr": "expiré", "en": "expired"},
    "portal.mstate.refused": {"fr": "refusé", "en": "refused"},
    "portal.mandates.no_proof": {"fr": "Aucun document pour l'instant.",
                                 "en": "No document yet."},
    "portal.mandates.kind": {"fr": "Type de document", "en": "Kind of document"},
    "portal.mandates.file": {"fr": "Fichier", "en": "File"},
    "portal.mandates.file_hint": {"fr": "PDF, PNG ou JPEG, {mb} Mo au plus",
                                  "en": "PDF, PNG or JPEG, {mb} MB at most"},
    "portal.mandates.upload": {"fr": "Envoyer le document", "en": "Upload the document"},
    "portal.mandates.submit_title": {"fr": "Demander la vérification",
                                     "en": "Ask for the review"},
    "portal.mandates.submit_intro": {
        "fr": "Une fois le mandat signé envoyé, demandez sa vérification. Le mandat sera "
              "actif dès que l'opérateur l'aura accepté.",
        "en": "Once the signed mandate is uploaded, ask for its review. The mandate becomes "
              "active as soon as the operator accepts it."},
    "portal.mandates.submit": {"fr": "Demander la vérification", "en": "Ask for the review"},
    "portal.mandates.end_title": {"fr": "Mettre fin au mandat", "en": "End the mandate"},
    "portal.mandates.end_intro": {
        "fr": "Le mandataire ne pourra plus agir pour vous, dès maintenant.",
        "en": "The mandatary can no longer act for you, from now on."},
    "portal.mandates.end": {"fr": "Mettre fin maintenant", "en": "End it now"},
    "portal.party.social_services": {"fr": "services sociaux", "en": "social services"},
    "portal.party.mandatary_organisation": {"fr": "organisme", "en": "organisation"},
    "portal.party.recipient": {"fr": "application", "en": "app"},
    "portal.proof.signed_mandate": {"fr": "Mandat signé", "en": "Signed mandate"},
    "portal.proof.contract": {"fr": "Contrat", "en": "Contract"},
    "portal.proof.identity": {"fr": "Pièce d'identité", "en": "Identity document"},
    "portal.proof.occupancy": {"fr": "Justificatif de domicile", "en": "Proof of address"},
    "portal.proof.other": {"fr": "Autre document", "en": "Other document"},
    "portal.maction.request": {"fr": "préparé", "en": "prepared"},
    "portal.maction.grant": {"fr": "donné en ligne", "en": "given online"},
    "portal.maction.submit": {"fr": "envoyé pour vérification", "en": "sent for review"},
    "portal.maction.approve": {"fr": "accepté par l'opérateur", "en": "accepted by the operator"},
    "portal.maction.refuse": {"fr": "refusé", "en": "refused"},
    "portal.maction.suspend": {"fr": "suspendu", "en": "suspended"},
    "portal.maction.resume": {"fr": "repris", "en": "resumed"},
    "portal.maction.withdraw": {"fr": "terminé", "en": "ended"},
    "portal.maction.revoke": {"fr": "révoqué", "en": "revoked"},
    "portal.maction.expire": {"fr": "expiré", "en": "expired"},
    "portal.action.submit": {"fr": "envoyé pour vérification", "en": "sent for review"},
    "portal.action.approve": {"fr": "accepté par l'opérateur", "en": "accepted by the operator"},
    "portal.done.mandate_given": {"fr": "C'est fait : {name} a maintenant un mandat actif.",
                                  "en": "Done: {name} now holds an active mandate."},
    "portal.done.mandate_person": {
        "fr": "Si « {name} » est l'identifiant d'une personne qui peut recevoir un mandat, "
              "son mandat est dans la liste ci-dessous, sous cet identifiant.",
        "en": "If “{name}” is the username of a person who may hold a mandate, their "
              "mandate is in the list below, under that username."},
    "portal.done.mandate_prepared": {
        "fr": "Mandat préparé pour {name}. Envoyez maintenant le mandat signé.",
        "en": "Mandate prepared for {name}. Now upload the signed mandate."},
    "portal.done.proof": {"fr": "Document reçu et chiffré : {name}.",
                          "en": "Document received and encrypted: {name}."},
    "portal.done.submitted": {"fr": "C'est fait : le mandat est envoyé pour vérification.",
                              "en": "Done: the mandate is sent for review."},
    "portal.done.mandate_ended": {"fr": "C'est fait : le mandat est terminé, dès maintenant.",
                                  "en": "Done: the mandate has ended, from now on."},
    "portal.err.scope": {"fr": "Choisissez ce que le mandataire peut faire.",
                         "en": "Choose what the mandatary may do."},
    "portal.err.path": {"fr": "Choisissez comment signer.", "en": "Choose how to sign."},
    "portal.err.points.r14_mandate": {
        "fr": "En ligne, au plus deux compteurs : au-delà, choisissez le mandat papier (R14).",
        "en": "Online, at most two meters: beyond that, choose the paper mandate (R14)."},
    "portal.err.points.r14_mandate_held": {
        "fr": "Ce mandataire a déjà un mandat pour d'autres de vos compteurs : avec ceux-ci, il "
              "en aurait plus de deux. Choisissez le mandat papier (R14).",
        "en": "This mandatary already holds a mandate for other meters of yours: with these, "
              "it would hold more than two. Choose the paper mandate (R14)."},
    "portal.err.mandatary": {"fr": "Choisissez un organisme de la liste, ou une personne.",
                             "en": "Choose an organisation from the list, or a person."},
    "portal.err.mandatary_id": {"fr": "Ce mandataire n'est pas possible.",
                                "en": "This mandatary is not possible."},
    "portal.err.mandate.throttled": {
        "fr": "Trop de mandats demandés pour des personnes. Réessayez dans une heure.",
        "en": "Too many mandates asked for people. Try again in an hour."},
    "portal.err.until.R11": {
        "fr": "Seuls les services sociaux peuvent avoir un mandat sans date de fin (R11).",
        "en": "Only social services may hold a mandate without an end date (R11)."},
    "portal.err.proofs": {"fr": "Envoyez d'abord au moins un document signé.",
                          "en": "Upload at least one signed document first."},
    "portal.err.file": {"fr": "Ce document ne peut pas être ajouté.",
                        "en": "This document cannot be added."},
    "portal.err.file.missing": {"fr": "Choisissez un fichier.", "en": "Choose a file."},
    "portal.err.file.too_large": {"fr": "Le fichier dépasse 4 Mo.",
                                  "en": "The file is larger than 4 MB."},
    "portal.err.file.type": {
        "fr": "Le fichier n'est pas un PDF, PNG ou JPEG complet (c'est son contenu qui compte).",
        "en": "The file is not a complete PDF, PNG or JPEG (its content is what counts)."},
}
