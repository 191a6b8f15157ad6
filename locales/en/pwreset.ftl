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
page-done-continue = Continue to sign in
page-return-to-title = This page cannot send you back there
page-return-to-body = The address to return to after the reset is not one this service allows. Go back to the application and start again from there.
page-invalid-title = This link can no longer be used
page-invalid-body = The reset link is invalid or has expired, or it has already been used. Links work once, for a limited time.
page-invalid-action = Ask for a new link
page-error-title = Something is wrong with this request
page-busy-title = Please try again in a moment
page-busy-body = The service is busy right now. Wait a few seconds and try again.
page-handoff-title = Your password has not been changed yet
page-handoff-body = The service could not save it just now. Your link still works: enter the new password again and submit it in a moment.
page-limited-title = Too many attempts
page-limited-body = Too many requests came from here. Wait a while and try again.
page-errors-heading = Please correct the following:
page-feedback-checking = Checking…
page-feedback-ok = This password looks good.
password-required = Enter a new password.
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

## Password policy (the JSON API answers in English)
password-control = The password cannot contain control characters.
password-too-short = This password is too short. It must contain at least { $min } characters.
password-too-long = This password is too long. It can be at most { $max } bytes (accented letters and symbols count as more than one); it would not be stored in full.
password-like-email = This password is too similar to your email address. Use words that have nothing to do with your account.
password-breached = This password has appeared in a data breach, so attackers try it first. Choose another one.
password-guessable = This password is too easy to guess.
zxcvbn-StraightRowsOfKeysAreEasyToGuess = Straight rows of keys are easy to guess.
zxcvbn-ShortKeyboardPatternsAreEasyToGuess = Short keyboard patterns are easy to guess.
zxcvbn-RepeatsLikeAaaAreEasyToGuess = Repeats like "aaa" are easy to guess.
zxcvbn-RepeatsLikeAbcAbcAreOnlySlightlyHarderToGuess = Repeats like "abcabcabc" are only slightly harder to guess than "abc".
zxcvbn-ThisIsATop10Password = This is a top-10 common password.
zxcvbn-ThisIsATop100Password = This is a top-100 common password.
zxcvbn-ThisIsACommonPassword = This is a very common password.
zxcvbn-ThisIsSimilarToACommonlyUsedPassword = This is similar to a commonly used password.
zxcvbn-SequencesLikeAbcAreEasyToGuess = Sequences like abc or 6543 are easy to guess.
zxcvbn-RecentYearsAreEasyToGuess = Recent years are easy to guess.
zxcvbn-AWordByItselfIsEasyToGuess = A word by itself is easy to guess.
zxcvbn-DatesAreOftenEasyToGuess = Dates are often easy to guess.
zxcvbn-NamesAndSurnamesByThemselvesAreEasyToGuess = Names and surnames by themselves are easy to guess.
zxcvbn-CommonNamesAndSurnamesAreEasyToGuess = Common names and surnames are easy to guess.
zxcvbn-UseAFewWordsAvoidCommonPhrases = Use a few words, avoid common phrases.
zxcvbn-NoNeedForSymbolsDigitsOrUppercaseLetters = No need for symbols, digits, or uppercase letters.
zxcvbn-AddAnotherWordOrTwo = Add another word or two. Uncommon words are better.
zxcvbn-CapitalizationDoesntHelpVeryMuch = Capitalization doesn't help very much.
zxcvbn-AllUppercaseIsAlmostAsEasyToGuessAsAllLowercase = All-uppercase is almost as easy to guess as all-lowercase.
zxcvbn-ReversedWordsArentMuchHarderToGuess = Reversed words aren't much harder to guess.
zxcvbn-PredictableSubstitutionsDontHelpVeryMuch = Predictable substitutions like '@' instead of 'a' don't help very much.
zxcvbn-UseALongerKeyboardPatternWithMoreTurns = Use a longer keyboard pattern with more turns.
zxcvbn-AvoidRepeatedWordsAndCharacters = Avoid repeated words and characters.
zxcvbn-AvoidSequences = Avoid sequences.
zxcvbn-AvoidRecentYears = Avoid recent years.
zxcvbn-AvoidYearsThatAreAssociatedWithYou = Avoid years that are associated with you.
zxcvbn-AvoidDatesAndYearsThatAreAssociatedWithYou = Avoid dates and years that are associated with you.
password-mismatch = The two password fields didn't match.
