//! The password and username policy of accounts (Django's default validators: minimum length,
//! common passwords, entirely numeric, similar to the user's attributes; and its username
//! characters).

use crate::Violation;

/// The shortest password accepted.
pub const MIN_LENGTH: usize = 8;

/// The longest username accepted (Django's `AbstractUser.username`).
pub const MAX_USERNAME: usize = 150;

/// Passwords that are refused whatever their length: the most common ones in leaked password
/// lists, compared case-insensitively.
const COMMON: &[&str] = &[
    "password",
    "password1",
    "password12",
    "password123",
    "password1234",
    "passw0rd",
    "p@ssw0rd",
    "p@ssword",
    "123456789",
    "12345678",
    "1234567890",
    "123123123",
    "11111111",
    "00000000",
    "87654321",
    "qwertyui",
    "qwertyuiop",
    "qwerty123",
    "qwerty12",
    "1q2w3e4r",
    "1q2w3e4r5t",
    "1qaz2wsx",
    "zaq12wsx",
    "abcd1234",
    "abc12345",
    "abcdefgh",
    "iloveyou",
    "iloveyou1",
    "sunshine",
    "princess",
    "football",
    "baseball",
    "welcome1",
    "welcome123",
    "superman",
    "starwars",
    "trustno1",
    "whatever",
    "letmein1",
    "letmein123",
    "dragon12",
    "master12",
    "michelle",
    "jennifer",
    "computer",
    "internet",
    "changeme",
    "changeme123",
    "administrator",
    "admin123",
    "admin1234",
    "adminadmin",
    "rootroot",
    "toortoor",
    "passpass",
    "testtest",
    "test1234",
    "test12345",
    "qazwsxedc",
    "asdfghjkl",
    "asdfasdf",
    "zxcvbnm1",
    "q1w2e3r4",
    "q1w2e3r4t5",
    "aaaaaaaa",
    "secret123",
    "kafkaml1",
    "kafka123",
    "kafkakafka",
    "monkey12",
    "shadow12",
    "mustang1",
    "liverpool",
    "chelsea1",
    "arsenal1",
    "pokemon1",
    "jordan23",
    "michael1",
    "charlie1",
    "samsung1",
    "google123",
    "linkedin",
    "freedom1",
    "whatever1",
    "nothing1",
    "hello123",
    "helloworld",
    "loveyou1",
];

/// Checks a username: 1 to [`MAX_USERNAME`] characters, letters, digits and `@.+-_`.
pub fn check_username(username: &str) -> Result<(), Violation> {
    let ok = !username.is_empty()
        && username.chars().count() <= MAX_USERNAME
        && username.chars().all(|ch| ch.is_alphanumeric() || "@.+-_".contains(ch));
    if ok {
        Ok(())
    } else {
        Err(Violation::UsernameInvalid)
    }
}

/// Checks a new password against the policy, for the user it is to belong to.
pub fn check_password(password: &str, username: &str, email: &str) -> Result<(), Violation> {
    if password.chars().count() < MIN_LENGTH {
        return Err(Violation::PasswordTooShort(MIN_LENGTH));
    }
    let lower = password.to_lowercase();
    if COMMON.contains(&lower.as_str()) {
        return Err(Violation::PasswordTooCommon);
    }
    if password.chars().all(|ch| ch.is_ascii_digit()) {
        return Err(Violation::PasswordNumeric);
    }
    let similar = |attribute: &str| {
        let attribute = attribute.to_lowercase();
        attribute.chars().count() >= 3 && (lower.contains(&attribute) || attribute.contains(&lower))
    };
    if similar(username) {
        return Err(Violation::PasswordTooSimilar("username"));
    }
    let email_name = email.split('@').next().unwrap_or_default();
    if similar(email_name) {
        return Err(Violation::PasswordTooSimilar("email address"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_refuses_weak_passwords_with_their_reason() {
        assert_eq!(check_password("short1!", "ann", ""), Err(Violation::PasswordTooShort(8)));
        assert_eq!(check_password("Password123", "ann", ""), Err(Violation::PasswordTooCommon));
        assert_eq!(check_password("4815162342", "ann", ""), Err(Violation::PasswordNumeric));
        assert_eq!(check_password("xx-annabel-xx", "annabel", ""), Err(Violation::PasswordTooSimilar("username")));
        assert_eq!(
            check_password("jo.smith-2026", "ann", "jo.smith@example.org"),
            Err(Violation::PasswordTooSimilar("email address"))
        );
        assert_eq!(check_password("correct horse battery", "ann", "ann@example.org"), Ok(()));
        assert_eq!(
            Violation::PasswordTooShort(8).to_string(),
            "This password is too short. It must contain at least 8 characters."
        );
    }

    #[test]
    fn usernames_are_short_words() {
        for ok in ["admin", "ann.lee+ops@lab", "operator_2", "Jörg"] {
            assert_eq!(check_username(ok), Ok(()), "{ok}");
        }
        let long = "a".repeat(151);
        for bad in ["", "ann lee", "ann/lee", "<script>", long.as_str()] {
            assert_eq!(check_username(bad), Err(Violation::UsernameInvalid), "{bad}");
        }
    }
}
