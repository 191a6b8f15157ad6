//! The two messages the service sends, in text and HTML.

pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

pub struct Branding<'a> {
    pub app_name: &'a str,
    pub support_contact: Option<&'a str>,
}

fn support_line(branding: &Branding<'_>) -> String {
    match branding.support_contact {
        Some(contact) => format!("contact {contact}"),
        None => "contact your administrator".to_owned(),
    }
}

pub fn reset_email(branding: &Branding<'_>, link: &str, lifetime_minutes: u64) -> Rendered {
    let app = branding.app_name;
    let subject = format!("Reset your {app} password");
    let text = format!(
        "Someone asked to reset the password of your {app} account.\n\n\
         To choose a new password, open this link:\n\n{link}\n\n\
         The link works for {lifetime_minutes} minutes and can be used once.\n\n\
         If you did not ask for this, ignore this email: your password stays as it is.\n"
    );
    let html = format!(
        "<!doctype html><html><body>\
         <p>Someone asked to reset the password of your {app} account.</p>\
         <p><a href=\"{link}\">Choose a new password</a></p>\
         <p>The link works for {lifetime_minutes} minutes and can be used once.</p>\
         <p>If you did not ask for this, ignore this email: your password stays as it is.</p>\
         </body></html>",
        app = escape_html(app),
        link = escape_html(link),
    );
    Rendered {
        subject,
        text,
        html,
    }
}

pub fn password_changed_email(branding: &Branding<'_>) -> Rendered {
    let app = branding.app_name;
    let support = support_line(branding);
    let subject = format!("Your {app} password was changed");
    let text = format!(
        "The password of your {app} account was just changed.\n\n\
         If this was you, there is nothing to do.\n\n\
         If this wasn't you, someone else may have access to your email: \
         reset your password again right away and {support}.\n"
    );
    let html = format!(
        "<!doctype html><html><body>\
         <p>The password of your {app} account was just changed.</p>\
         <p>If this was you, there is nothing to do.</p>\
         <p><strong>If this wasn't you</strong>, someone else may have access to your email: \
         reset your password again right away and {support}.</p>\
         </body></html>",
        app = escape_html(app),
        support = escape_html(&support),
    );
    Rendered {
        subject,
        text,
        html,
    }
}

pub fn escape_html(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_is_escaped_and_the_lifetime_stated() {
        let branding = Branding {
            app_name: "<Acme>",
            support_contact: Some("help@acme.test"),
        };
        let mail = reset_email(&branding, "https://x.test/r?token=a&b", 60);
        assert!(mail.html.contains("&lt;Acme&gt;") && !mail.html.contains("<Acme>"));
        assert!(mail.html.contains("token=a&amp;b"));
        assert!(mail.text.contains("60 minutes"));
        let changed = password_changed_email(&branding);
        assert!(
            changed.text.contains("If this wasn't you") && changed.text.contains("help@acme.test")
        );
    }
}
