//! `resource.Quantity` parsing, comparison and canonical formatting, as apimachinery does it.
//!
//! A quantity is kept as a count of nano-units (the finest precision Kubernetes keeps; finer
//! values are rounded up to it) plus the format its suffix implied, which decides how it is
//! printed back (`500m`, `1Gi`, `1e3`).

use std::cmp::Ordering;
use std::fmt;

/// How a quantity is printed, chosen by the suffix it was written with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `k`, `M`, `m`, no suffix...
    DecimalSi,
    /// `Ki`, `Mi`...
    BinarySi,
    /// `e3`, `E6`...
    DecimalExponent,
}

/// A parsed quantity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quantity {
    /// The value in nano-units.
    nanos: i128,
    format: Format,
}

/// The message apimachinery gives for a string that is not a quantity.
pub const PARSE_ERROR: &str =
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

const NANO: i128 = 1_000_000_000;
/// Beyond this, values are clamped (far above anything a resource list holds; keeps the
/// arithmetic from overflowing).
const LIMIT: i128 = 10_i128.pow(36);
/// The cap apimachinery applies to binary quantities (2^63 - 1 units).
const MAX_BINARY_UNITS: i128 = i64::MAX as i128;

impl Quantity {
    /// Parses a quantity the way `resource.ParseQuantity` does.
    pub fn parse(s: &str) -> Result<Self, String> {
        let err = || PARSE_ERROR.to_owned();
        if s.is_empty() {
            return Err(err());
        }
        let (negative, rest) = match s.as_bytes()[0] {
            b'-' => (true, &s[1..]),
            b'+' => (false, &s[1..]),
            _ => (false, s),
        };
        // The number is digits with at most one '.', then the suffix.
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (num, suffix) = rest.split_at(num_end);
        if num.is_empty() || num == "." || num.matches('.').count() > 1 {
            return Err(err());
        }
        let (int_part, frac_part) = num.split_once('.').unwrap_or((num, ""));

        let (base, exponent, format) = parse_suffix(suffix).ok_or_else(err)?;

        // value = digits * 10^(-frac_len) * base^exponent, in nanos.
        let digits = format!("{int_part}{frac_part}");
        let digits = digits.trim_start_matches('0');
        let mut scale10: i64 = 9 - frac_part.len() as i64;
        let mut mantissa: i128 = 0;
        for c in digits.bytes() {
            if mantissa > LIMIT {
                scale10 += 1;
                continue;
            }
            mantissa = mantissa * 10 + i128::from(c - b'0');
        }
        let mut value = mantissa;
        if base == 10 {
            scale10 += i64::from(exponent);
        }
        // Apply the power of ten, rounding up what falls below a nano.
        if scale10 >= 0 {
            for _ in 0..scale10 {
                value = value.saturating_mul(10).min(LIMIT);
            }
        } else {
            let mut rounded_up = false;
            for _ in 0..(-scale10) {
                if value % 10 != 0 {
                    rounded_up = true;
                }
                value /= 10;
                if value == 0 {
                    break;
                }
            }
            if rounded_up || (value == 0 && mantissa != 0) {
                value += 1;
            }
        }
        if base == 2 {
            for _ in 0..exponent {
                value = value.saturating_mul(2).min(LIMIT);
            }
        }
        let mut format = format;
        if format == Format::BinarySi {
            value = value.min(MAX_BINARY_UNITS.saturating_mul(NANO));
            if value > 0 && value < NANO {
                format = Format::DecimalSi;
            }
        }
        Ok(Quantity {
            nanos: if negative { -value } else { value },
            format,
        })
    }

    /// A quantity of `units` whole units, printed in decimal.
    pub fn from_units(units: i64) -> Self {
        Quantity {
            nanos: i128::from(units) * NANO,
            format: Format::DecimalSi,
        }
    }

    pub fn is_zero(&self) -> bool {
        self.nanos == 0
    }

    pub fn is_negative(&self) -> bool {
        self.nanos < 0
    }

    /// Whether the value is a whole number of units.
    pub fn is_integer(&self) -> bool {
        self.nanos % NANO == 0
    }

    /// The value in whole units, rounded up (`Quantity.Value()`).
    pub fn value(&self) -> i128 {
        let q = self.nanos / NANO;
        if self.nanos % NANO > 0 { q + 1 } else { q }
    }

    /// The value in milli-units, rounded up (`Quantity.MilliValue()`).
    pub fn milli_value(&self) -> i128 {
        let q = self.nanos / 1_000_000;
        if self.nanos % 1_000_000 > 0 { q + 1 } else { q }
    }

    /// Rounds up to milli-units, as the API server does to every resource list it stores.
    pub fn round_up_to_milli(self) -> Self {
        let rem = self.nanos.rem_euclid(1_000_000);
        let nanos = if rem == 0 {
            self.nanos
        } else {
            self.nanos - rem + 1_000_000
        };
        Quantity { nanos, ..self }
    }

    /// The sum of two quantities, printed in the first one's format.
    pub fn add(&self, other: &Quantity) -> Quantity {
        Quantity {
            nanos: (self.nanos + other.nanos).clamp(-LIMIT, LIMIT),
            format: self.format,
        }
    }

    /// Compares two quantities by value, ignoring format.
    pub fn cmp_value(&self, other: &Quantity) -> Ordering {
        self.nanos.cmp(&other.nanos)
    }
}

fn parse_suffix(s: &str) -> Option<(u32, i32, Format)> {
    let dec = |e: i32| Some((10, e, Format::DecimalSi));
    let bin = |e: i32| Some((2, e, Format::BinarySi));
    match s {
        "" => dec(0),
        "n" => dec(-9),
        "u" => dec(-6),
        "m" => dec(-3),
        "k" => dec(3),
        "M" => dec(6),
        "G" => dec(9),
        "T" => dec(12),
        "P" => dec(15),
        "E" => dec(18),
        "Ki" => bin(10),
        "Mi" => bin(20),
        "Gi" => bin(30),
        "Ti" => bin(40),
        "Pi" => bin(50),
        "Ei" => bin(60),
        _ => {
            let rest = s.strip_prefix('e').or_else(|| s.strip_prefix('E'))?;
            let digits = rest.strip_prefix(['+', '-']).unwrap_or(rest);
            if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            let e: i32 = rest.parse().ok()?;
            if !(-40..=40).contains(&e) {
                return None;
            }
            Some((10, e, Format::DecimalExponent))
        }
    }
}

fn decimal_suffix(exponent: i32, format: Format) -> String {
    if format == Format::DecimalExponent {
        return if exponent == 0 {
            String::new()
        } else {
            format!("e{exponent}")
        };
    }
    match exponent {
        -9 => "n".to_owned(),
        -6 => "u".to_owned(),
        -3 => "m".to_owned(),
        0 => String::new(),
        3 => "k".to_owned(),
        6 => "M".to_owned(),
        9 => "G".to_owned(),
        12 => "T".to_owned(),
        15 => "P".to_owned(),
        18 => "E".to_owned(),
        e => format!("e{e}"),
    }
}

impl fmt::Display for Quantity {
    /// The canonical form (`Quantity.String()`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.nanos == 0 {
            return f.write_str("0");
        }
        let sign = if self.nanos < 0 { "-" } else { "" };
        let abs = self.nanos.unsigned_abs();
        let mut format = self.format;
        if format == Format::BinarySi
            && (abs < 1024 * NANO.unsigned_abs() || !abs.is_multiple_of(NANO.unsigned_abs()))
        {
            format = Format::DecimalSi;
        }
        if format == Format::BinarySi {
            let mut units = abs / NANO.unsigned_abs();
            let mut exp = 0;
            while units.is_multiple_of(1024) && exp < 6 {
                units /= 1024;
                exp += 1;
            }
            let suffix = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"][exp];
            return write!(f, "{sign}{units}{suffix}");
        }
        // Decimal: the largest exponent (a multiple of 3) that keeps the mantissa whole.
        let mut mantissa = abs;
        let mut exponent: i32 = -9;
        while mantissa.is_multiple_of(10) {
            mantissa /= 10;
            exponent += 1;
        }
        match exponent.rem_euclid(3) {
            1 => {
                mantissa *= 10;
                exponent -= 1;
            }
            2 => {
                mantissa *= 100;
                exponent -= 2;
            }
            _ => {}
        }
        write!(f, "{sign}{mantissa}{}", decimal_suffix(exponent, format))
    }
}

/// The canonical form of a quantity string, or the string itself when it does not parse.
pub fn canonical(s: &str) -> String {
    Quantity::parse(s).map_or_else(|_| s.to_owned(), |q| q.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> String {
        Quantity::parse(s)
            .map(|q| q.to_string())
            .unwrap_or_else(|e| e)
    }

    #[test]
    fn canonical_forms() {
        for (input, want) in [
            ("0", "0"),
            ("0.5", "500m"),
            ("1000m", "1"),
            ("1500", "1500"),
            ("2000", "2k"),
            ("100Mi", "100Mi"),
            ("1024Mi", "1Gi"),
            ("1536Mi", "1536Mi"),
            ("0.5Gi", "512Mi"),
            ("512", "512"),
            ("0.5Ki", "512"),
            ("1e3", "1e3"),
            ("1.5e3", "1500"),
            ("128974848", "128974848"),
            ("129e6", "129e6"),
            ("129M", "129M"),
            ("123Mi", "123Mi"),
            ("-1", "-1"),
            ("100u", "100u"),
            ("1n", "1n"),
            ("0.1n", "1n"),
            ("+5", "5"),
        ] {
            assert_eq!(c(input), want, "{input}");
        }
    }

    #[test]
    fn rejects_garbage() {
        for bad in ["", "abc", "1.2.3", "5Qi", ".", "1e", "--1", "1 Gi"] {
            assert!(Quantity::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn compare_and_round() {
        let a = Quantity::parse("1").unwrap();
        let b = Quantity::parse("1000m").unwrap();
        assert_eq!(a.cmp_value(&b), Ordering::Equal);
        let small = Quantity::parse("100u").unwrap().round_up_to_milli();
        assert_eq!(small.to_string(), "1m");
        assert_eq!(Quantity::parse("1.5").unwrap().value(), 2);
        assert!(!Quantity::parse("1.5").unwrap().is_integer());
    }
}
