# pwreset: Deutsch.

## Seiten
page-forgot-title = Passwort vergessen?
page-forgot-intro = Gib die E-Mail-Adresse deines { $app }-Kontos ein. Wir schicken dir einen Link, mit dem du ein neues Passwort wählen kannst.
page-email-label = E-Mail-Adresse
page-forgot-submit = Link senden
page-sent-title = Sieh in dein Postfach
page-sent-body = Falls zu dieser E-Mail-Adresse ein Konto existiert, wurde ein Link zum Zurücksetzen des Passworts gesendet. Er gilt für begrenzte Zeit und nur einmal.
page-sent-again = Nichts angekommen? Fordere einen neuen Link an.
page-reset-title = Neues Passwort wählen
page-reset-intro = Wähle ein neues Passwort für dein { $app }-Konto.
page-new-password-label = Neues Passwort
page-confirm-password-label = Neues Passwort bestätigen
page-password-hint = Mindestens { $min } Zeichen. Einige Wörter ohne Zusammenhang ergeben ein starkes Passwort.
page-reset-submit = Neues Passwort speichern
page-done-title = Dein Passwort wurde geändert
page-done-body = Dein { $app }-Passwort wurde zurückgesetzt. Du kannst dich jetzt damit anmelden.
page-invalid-title = Dieser Link ist nicht mehr gültig
page-invalid-body = Der Link ist ungültig, abgelaufen oder wurde bereits benutzt. Links gelten einmal und nur für begrenzte Zeit.
page-invalid-action = Neuen Link anfordern
page-error-title = Mit dieser Anfrage stimmt etwas nicht
page-busy-title = Bitte versuche es gleich noch einmal
page-busy-body = Der Dienst ist gerade ausgelastet. Warte ein paar Sekunden und versuche es erneut.
page-limited-title = Zu viele Versuche
page-limited-body = Von hier kamen zu viele Anfragen. Warte eine Weile und versuche es erneut.
page-errors-heading = Bitte korrigiere Folgendes:
page-feedback-checking = Wird geprüft…
page-feedback-ok = Dieses Passwort sieht gut aus.
page-mismatch = Die beiden Passwörter stimmen nicht überein.

## E-Mails
email-reset-subject = Setze dein { $app }-Passwort zurück
email-reset-intro = Jemand hat angefordert, das Passwort deines { $app }-Kontos zurückzusetzen.
email-reset-open = Öffne diesen Link, um ein neues Passwort zu wählen:
email-reset-button = Neues Passwort wählen
email-reset-lifetime = Der Link gilt { $minutes } Minuten und nur einmal.
email-reset-ignore = Wenn du das nicht warst, ignoriere diese E-Mail: Dein Passwort bleibt unverändert.
email-changed-subject = Dein { $app }-Passwort wurde geändert
email-changed-intro = Das Passwort deines { $app }-Kontos wurde soeben geändert.
email-changed-fine = Wenn du das warst, ist nichts zu tun.
email-changed-warning-lead = Wenn du das nicht warst
email-changed-warning = , hat womöglich jemand anderes Zugriff auf deine E-Mails: Setze dein Passwort sofort erneut zurück und { $contact }.
email-changed-contact = wende dich an { $who }
email-changed-contact-admin = wende dich an deine Administration
