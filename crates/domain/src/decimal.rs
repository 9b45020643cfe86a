//! Precision rules of the reference's decimal columns (`max_digits`, `decimal_places`), applied to
//! the shortest decimal text of a number, which round-trips exactly.

/// Checks that `value` fits a `decimal(max_digits, places)` column. Returns a DRF-style message
/// when it does not.
pub fn check(value: f64, max_digits: u32, places: u32) -> Result<(), String> {
    if !value.is_finite() {
        return Err("A valid number is required.".to_owned());
    }
    let text = format!("{}", value.abs());
    let (int_part, frac_part) = match text.split_once('.') {
        Some((i, f)) => (i, f),
        None => (text.as_str(), ""),
    };
    if text.contains('e') {
        return Err(format!("Ensure that there are no more than {max_digits} digits in total."));
    }
    let int_digits = int_part.trim_start_matches('0').len() as u32;
    let frac_digits = frac_part.len() as u32;
    if int_digits + frac_digits > max_digits {
        return Err(format!("Ensure that there are no more than {max_digits} digits in total."));
    }
    if frac_digits > places {
        return Err(format!("Ensure that there are no more than {places} decimal places."));
    }
    if int_digits > max_digits - places {
        return Err(format!(
            "Ensure that there are no more than {} digits before the decimal point.",
            max_digits - places
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn precision_rules() {
        assert!(check(0.001, 7, 6).is_ok());
        assert!(check(0.123456, 7, 6).is_ok());
        assert!(check(0.1234567, 7, 6).is_err());
        assert!(check(0.33333333, 7, 6).is_err());
        assert!(check(12.3457, 14, 4).is_ok());
        assert!(check(12.34567, 14, 4).is_err());
        assert!(check(10.0, 7, 6).is_err());
        assert!(check(1.5, 7, 6).is_ok());
        assert!(check(f64::NAN, 7, 6).is_err());
    }
}
