# pwreset : français.

## Pages
page-forgot-title = Mot de passe oublié ?
page-forgot-intro = Saisissez l'adresse e-mail de votre compte { $app } : nous vous enverrons un lien pour choisir un nouveau mot de passe.
page-email-label = Adresse e-mail
page-forgot-submit = Envoyer le lien
page-sent-title = Consultez votre boîte de réception
page-sent-body = Si un compte existe pour cette adresse, un lien de réinitialisation du mot de passe a été envoyé. Il est valable un temps limité et une seule fois.
page-sent-again = Rien reçu ? Demandez un nouveau lien.
page-reset-title = Choisissez un nouveau mot de passe
page-reset-intro = Choisissez un nouveau mot de passe pour votre compte { $app }.
page-new-password-label = Nouveau mot de passe
page-confirm-password-label = Confirmez le nouveau mot de passe
page-password-hint = Au moins { $min } caractères. Quelques mots sans rapport entre eux font un mot de passe solide.
page-reset-submit = Enregistrer le nouveau mot de passe
page-done-title = Votre mot de passe a été changé
page-done-body = Votre mot de passe { $app } a été réinitialisé. Vous pouvez maintenant vous connecter avec.
page-invalid-title = Ce lien n'est plus utilisable
page-invalid-body = Le lien est invalide, a expiré ou a déjà été utilisé. Les liens ne servent qu'une fois, pendant un temps limité.
page-invalid-action = Demander un nouveau lien
page-error-title = Cette demande pose un problème
page-busy-title = Réessayez dans un instant
page-busy-body = Le service est très sollicité. Patientez quelques secondes puis réessayez.
page-limited-title = Trop de tentatives
page-limited-body = Trop de demandes sont venues d'ici. Patientez un moment puis réessayez.
page-errors-heading = Veuillez corriger ce qui suit :
page-feedback-checking = Vérification…
page-feedback-ok = Ce mot de passe semble bon.
page-mismatch = Les deux mots de passe ne correspondent pas.

## E-mails
email-reset-subject = Réinitialisez votre mot de passe { $app }
email-reset-intro = Quelqu'un a demandé à réinitialiser le mot de passe de votre compte { $app }.
email-reset-open = Pour choisir un nouveau mot de passe, ouvrez ce lien :
email-reset-button = Choisir un nouveau mot de passe
email-reset-lifetime = Le lien est valable { $minutes } minutes et une seule fois.
email-reset-ignore = Si vous n'êtes pas à l'origine de cette demande, ignorez cet e-mail : votre mot de passe reste inchangé.
email-changed-subject = Votre mot de passe { $app } a été changé
email-changed-intro = Le mot de passe de votre compte { $app } vient d'être changé.
email-changed-fine = Si c'était vous, il n'y a rien à faire.
email-changed-warning-lead = Si ce n'était pas vous
email-changed-warning = , quelqu'un d'autre a peut-être accès à vos e-mails : réinitialisez votre mot de passe immédiatement et { $contact }.
email-changed-contact = contactez { $who }
email-changed-contact-admin = contactez votre administrateur
