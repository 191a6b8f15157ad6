# pwreset: español.

## Páginas
page-forgot-title = ¿Olvidaste tu contraseña?
page-forgot-intro = Escribe la dirección de correo de tu cuenta de { $app } y te enviaremos un enlace para elegir una contraseña nueva.
page-email-label = Correo electrónico
page-forgot-submit = Enviarme un enlace
page-sent-title = Revisa tu bandeja de entrada
page-sent-body = Si existe una cuenta con este correo, se ha enviado un enlace para restablecer la contraseña. Sirve durante un tiempo limitado y una sola vez.
page-sent-again = ¿No te llegó? Pide otro enlace.
page-reset-title = Elige una contraseña nueva
page-reset-intro = Elige una contraseña nueva para tu cuenta de { $app }.
page-new-password-label = Contraseña nueva
page-confirm-password-label = Confirma la contraseña nueva
page-password-hint = Al menos { $min } caracteres. Unas cuantas palabras sin relación forman una contraseña fuerte.
page-reset-submit = Guardar la contraseña nueva
page-done-title = Tu contraseña se ha cambiado
page-done-body = Tu contraseña de { $app } se ha restablecido. Ya puedes iniciar sesión con ella.
page-invalid-title = Este enlace ya no se puede usar
page-invalid-body = El enlace no es válido, ha caducado o ya se usó. Los enlaces sirven una vez y durante un tiempo limitado.
page-invalid-action = Pedir un enlace nuevo
page-error-title = Algo falla en esta solicitud
page-busy-title = Vuelve a intentarlo en un momento
page-busy-body = El servicio está ocupado. Espera unos segundos y vuelve a intentarlo.
page-limited-title = Demasiados intentos
page-limited-body = Llegaron demasiadas solicitudes desde aquí. Espera un rato y vuelve a intentarlo.
page-errors-heading = Corrige lo siguiente:
page-feedback-checking = Comprobando…
page-feedback-ok = Esta contraseña parece buena.
page-mismatch = Las dos contraseñas no coinciden.

## Correos
email-reset-subject = Restablece tu contraseña de { $app }
email-reset-intro = Alguien pidió restablecer la contraseña de tu cuenta de { $app }.
email-reset-open = Para elegir una contraseña nueva, abre este enlace:
email-reset-button = Elegir una contraseña nueva
email-reset-lifetime = El enlace sirve durante { $minutes } minutos y una sola vez.
email-reset-ignore = Si no lo pediste tú, ignora este correo: tu contraseña no cambia.
email-changed-subject = Se cambió tu contraseña de { $app }
email-changed-intro = La contraseña de tu cuenta de { $app } se acaba de cambiar.
email-changed-fine = Si fuiste tú, no tienes que hacer nada.
email-changed-warning-lead = Si no fuiste tú
email-changed-warning = , puede que otra persona tenga acceso a tu correo: restablece tu contraseña enseguida y { $contact }.
email-changed-contact = ponte en contacto con { $who }
email-changed-contact-admin = ponte en contacto con tu administrador
