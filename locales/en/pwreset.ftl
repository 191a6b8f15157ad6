# pwreset: English. Every other language has a file with the same keys.
# Variables: $app (APP_NAME), $minutes, $contact.

## Pages
page-forgot-title = Forgot your password?
page-forgot-intro = Enter the email address of your { $app } account and we will send you a link to choose a new password.
page-email-label = Email address
page-forgot-submit = Send me a link
page-sent-title = Check your inbox
page-sent-body = If an account exists for this email, a password reset link has been sent. It works for a limited time and can be used once.
page-sent-again = Didn't get it? Ask for another link.
page-reset-title = Choose a new password
page-reset-intro = Choose a new password for your { $app } account.
page-new-password-label = New password
page-confirm-password-label = Confirm the new password
page-password-hint = At least { $min } characters. A few unrelated words make a strong password.
page-reset-submit = Set my new password
page-done-title = Your password has been changed
page-done-body = Your { $app } password has been reset. You can now sign in with it.
page-invalid-title = This link can no longer be used
page-invalid-body = The reset link is invalid or has expired, or it has already been used. Links work once, for a limited time.
page-invalid-action = Ask for a new link
page-error-title = Something is wrong with this request
page-busy-title = Please try again in a moment
page-busy-body = The service is busy right now. Wait a few seconds and try again.
page-limited-title = Too many attempts
page-limited-body = Too many requests came from here. Wait a while and try again.
page-errors-heading = Please correct the following:
page-feedback-checking = Checking…
page-feedback-ok = This password looks good.
page-mismatch = The two password fields don't match.

## Emails
email-reset-subject = Reset your { $app } password
email-reset-intro = Someone asked to reset the password of your { $app } account.
email-reset-open = To choose a new password, open this link:
email-reset-button = Choose a new password
email-reset-lifetime = The link works for { $minutes } minutes and can be used once.
email-reset-ignore = If you did not ask for this, ignore this email: your password stays as it is.
email-changed-subject = Your { $app } password was changed
email-changed-intro = The password of your { $app } account was just changed.
email-changed-fine = If this was you, there is nothing to do.
email-changed-warning-lead = If this wasn't you
email-changed-warning = , someone else may have access to your email: reset your password again right away and { $contact }.
email-changed-contact = contact { $who }
email-changed-contact-admin = contact your administrator
