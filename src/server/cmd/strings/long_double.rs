//! The x87 80-bit `long double` that INCRBYFLOAT computes with, in
//! software. Redis parses both operands with `strtold`, adds them in
//! extended precision (64-bit mantissa) and prints the sum with `%.17Lf`,
//! trailing zeros trimmed; the extra precision is why `0.1 + 0.2` answers
//! `0.3` there, so an `f64` cannot reproduce its replies. Every step here
//! is exact big-integer arithmetic followed by one round-to-nearest-even,
//! which is what the FPU and glibc do, so results are bit-identical.
//! Pure code, no I/O; the command itself lives in `counter.rs`.

use std::cmp::Ordering;

/// Exponent of the lowest mantissa bit of subnormals and of the smallest
/// normal value (2^-16382 = 2^63 * 2^-16445).
const EMIN: i64 = -16445;
/// Largest exponent of the lowest mantissa bit: LDBL_MAX = (2^64-1) * 2^16320.
const EMAX: i64 = 16320;
/// Redis refuses longer float strings (`MAX_LONG_DOUBLE_CHARS`).
const MAX_CHARS: usize = 5 * 1024;
/// 10^17: `%.17Lf` prints 17 fractional digits.
const FRAC_SCALE: u64 = 100_000_000_000_000_000;

/// A finite extended-precision value: `±mant * 2^exp`. Nonzero values are
/// normal (`mant >= 2^63`, `EMIN <= exp <= EMAX`) or subnormal
/// (`mant < 2^63`, `exp == EMIN`); zero has `mant == 0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Finite {
    neg: bool,
    mant: u64,
    exp: i64,
}

/// What `strtold` accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LongDouble {
    /// A finite value.
    Finite(Finite),
    /// `inf`/`infinity` (never the result of rounding: an overflow is a
    /// parse error, as `strtold`'s ERANGE is for Redis).
    Infinite,
}

/// Parses `s` as Redis's `string2ld` does: `strtold` in the C locale must
/// consume the whole string, no leading space, no NaN, and a value that
/// overflows or underflows to zero is refused.
pub fn parse(s: &[u8]) -> Option<LongDouble> {
    if s.is_empty() || s.len() >= MAX_CHARS || is_c_space(s[0]) {
        return None;
    }
    let (neg, body) = match s[0] {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if body.eq_ignore_ascii_case(b"inf") || body.eq_ignore_ascii_case(b"infinity") {
        return Some(LongDouble::Infinite);
    }
    let exact = if body.len() > 2 && body[0] == b'0' && (body[1] | 0x20) == b'x' {
        parse_hex(&body[2..])?
    } else {
        parse_decimal(body)?
    };
    let Exact { big, exp2, exp10 } = exact;
    if big.is_zero() {
        return Some(LongDouble::Finite(Finite {
            neg,
            mant: 0,
            exp: EMIN,
        }));
    }
    let rounded = if exp10 >= 0 {
        round(neg, &big.times(&Big::pow10(exp10 as u64)), exp2)
    } else {
        // Enough quotient bits that rounding never looks at the last one;
        // the remainder only matters as a sticky bit.
        let den = Big::pow10(exp10.unsigned_abs());
        let shift = (66 + den.bits() as i64 - big.bits() as i64).max(0) as u64;
        let (q, r) = big.shl_bits(shift).div_rem(&den);
        let mut n = q.shl_bits(1);
        if !r.is_zero() {
            n.set_bit(0);
        }
        round(neg, &n, exp2 - shift as i64 - 1)
    }?;
    (rounded.mant != 0).then_some(LongDouble::Finite(rounded))
}

/// `a + b` rounded to extended precision; None when the sum is infinite
/// or NaN.
pub fn add(a: LongDouble, b: LongDouble) -> Option<Finite> {
    let (LongDouble::Finite(a), LongDouble::Finite(b)) = (a, b) else {
        return None;
    };
    if a.mant == 0 {
        // -0 + -0 is -0; every other sum with a zero is the other operand.
        return Some(if b.mant == 0 {
            Finite {
                neg: a.neg && b.neg,
                ..b
            }
        } else {
            b
        });
    }
    if b.mant == 0 {
        return Some(a);
    }
    let (hi, lo) = if a.exp >= b.exp { (a, b) } else { (b, a) };
    let diff = (hi.exp - lo.exp) as u64;
    if diff > 66 {
        // `hi` is normal and |lo| < a quarter of its ulp: the sum rounds
        // back to `hi`.
        return Some(hi);
    }
    let x = Big::from_u64(hi.mant).shl_bits(diff);
    let y = Big::from_u64(lo.mant);
    let (neg, sum) = if hi.neg == lo.neg {
        (hi.neg, x.plus(&y))
    } else {
        match x.compare(&y) {
            Ordering::Greater => (hi.neg, x.minus(&y)),
            Ordering::Less => (lo.neg, y.minus(&x)),
            Ordering::Equal => (false, Big::zero()),
        }
    };
    round(neg, &sum, lo.exp)
}

impl Finite {
    /// The value as Redis stores and replies it: `%.17Lf`, then trailing
    /// zeros (and a bare `.`) removed, and `-0` shown as `0`.
    pub fn to_human(self) -> String {
        let mant = Big::from_u64(self.mant);
        let (int, frac) = if self.exp >= 0 {
            (mant.shl_bits(self.exp as u64), 0)
        } else {
            let k = self.exp.unsigned_abs();
            let mut int = mant.shr_bits(k);
            let mut scaled = mant.low_bits(k);
            scaled.mul_small(FRAC_SCALE);
            let mut frac = scaled.shr_bits(k).low_u64();
            // glibc rounds the printed digits to nearest, ties to even.
            if scaled.bit(k - 1) && (scaled.any_below(k - 1) || frac & 1 == 1) {
                frac += 1;
                if frac == FRAC_SCALE {
                    frac = 0;
                    int = int.plus(&Big::from_u64(1));
                }
            }
            (int, frac)
        };
        let mut s = String::new();
        if self.neg {
            s.push('-');
        }
        s.push_str(&int.to_decimal());
        s.push_str(&format!(".{frac:017}"));
        let trimmed = s.trim_end_matches('0').trim_end_matches('.');
        if trimmed == "-0" {
            "0".to_string()
        } else {
            trimmed.to_string()
        }
    }
}

/// `big * 2^exp2 * 10^exp10`, exactly as written.
struct Exact {
    big: Big,
    exp2: i64,
    exp10: i64,
}

/// `digits [. digits] [(e|E) [sign] digits]`, at least one mantissa digit.
fn parse_decimal(s: &[u8]) -> Option<Exact> {
    let (big, frac_digits, sig_digits, rest) = mantissa(s, 10)?;
    let exp = match rest {
        [] => 0,
        [b'e' | b'E', tail @ ..] => exponent(tail)?,
        _ => return None,
    };
    let exp10 = exp - frac_digits as i64;
    // Far outside the range even before rounding: 10^4934 overflows and
    // 10^-4951 is below half the smallest subnormal. Decided here so huge
    // exponents never build huge numbers.
    if !big.is_zero() {
        let magnitude = sig_digits as i64 + exp10;
        if !(-4960..=4940).contains(&magnitude) {
            return None;
        }
    }
    Some(Exact {
        big,
        exp2: 0,
        exp10,
    })
}

/// After `0x`: `hexdigits [. hexdigits] [(p|P) [sign] digits]`.
fn parse_hex(s: &[u8]) -> Option<Exact> {
    let (big, frac_digits, _, rest) = mantissa(s, 16)?;
    let exp = match rest {
        [] => 0,
        [b'p' | b'P', tail @ ..] => exponent(tail)?,
        _ => return None,
    };
    let exp2 = exp - 4 * frac_digits as i64;
    if !big.is_zero() {
        let magnitude = big.bits() as i64 + exp2;
        if !(-16450..=16390).contains(&magnitude) {
            return None;
        }
    }
    Some(Exact {
        big,
        exp2,
        exp10: 0,
    })
}

/// Reads the digits of a mantissa in `radix` (10 or 16) with an optional
/// point. Returns the digits as an integer, how many followed the point,
/// how many were significant, and the unread rest.
fn mantissa(s: &[u8], radix: u32) -> Option<(Big, usize, usize, &[u8])> {
    let mut big = Big::zero();
    let (mut chunk, mut chunk_len) = (0u64, 0u32);
    let (mut digits, mut frac_digits, mut sig_digits) = (0usize, 0usize, 0usize);
    let mut seen_point = false;
    let mut i = 0;
    let per_chunk = if radix == 10 { 19 } else { 15 };
    while i < s.len() {
        let c = s[i];
        if c == b'.' && !seen_point {
            seen_point = true;
            i += 1;
            continue;
        }
        let Some(d) = (c as char).to_digit(radix) else {
            break;
        };
        digits += 1;
        if seen_point {
            frac_digits += 1;
        }
        if d != 0 || sig_digits > 0 {
            sig_digits += 1;
        }
        chunk = chunk * u64::from(radix) + u64::from(d);
        chunk_len += 1;
        if chunk_len == per_chunk {
            big.mul_small(u64::from(radix).pow(chunk_len));
            big.add_small(chunk);
            (chunk, chunk_len) = (0, 0);
        }
        i += 1;
    }
    if digits == 0 {
        return None;
    }
    if chunk_len > 0 {
        big.mul_small(u64::from(radix).pow(chunk_len));
        big.add_small(chunk);
    }
    Some((big, frac_digits, sig_digits, &s[i..]))
}

/// `[sign] digits` to the end of the string, saturating far beyond any
/// exponent that could still give a finite nonzero value.
fn exponent(s: &[u8]) -> Option<i64> {
    let (neg, digits) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n = digits
        .iter()
        .fold(0i64, |n, d| (n * 10 + i64::from(d - b'0')).min(1 << 40));
    Some(if neg { -n } else { n })
}

/// C's `isspace` in the C locale.
fn is_c_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Rounds `±n * 2^exp` to the nearest extended value, ties to even,
/// with gradual underflow; None on overflow.
fn round(neg: bool, n: &Big, exp: i64) -> Option<Finite> {
    let bits = n.bits() as i64;
    if bits == 0 {
        return Some(Finite {
            neg,
            mant: 0,
            exp: EMIN,
        });
    }
    let mut shift = bits - 64;
    if exp + shift < EMIN {
        shift = EMIN - exp;
    }
    let mut out_exp = exp + shift;
    let mant = if shift <= 0 {
        // Fewer than 64 significant bits: exact.
        n.low_u64() << shift.unsigned_abs()
    } else {
        let s = shift as u64;
        let mut mant = n.shr_bits(s).low_u64();
        if n.bit(s - 1) && (n.any_below(s - 1) || mant & 1 == 1) {
            mant = match mant.checked_add(1) {
                Some(m) => m,
                None => {
                    out_exp += 1;
                    1 << 63
                }
            };
        }
        mant
    };
    (out_exp <= EMAX).then_some(Finite {
        neg,
        mant,
        exp: out_exp,
    })
}

/// A little-endian arbitrary-size unsigned integer, just enough for exact
/// decimal conversion. No trailing zero limbs.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Big(Vec<u64>);

impl Big {
    fn zero() -> Big {
        Big(Vec::new())
    }

    fn from_u64(v: u64) -> Big {
        let mut b = Big(vec![v]);
        b.trim();
        b
    }

    fn pow10(n: u64) -> Big {
        let mut b = Big::from_u64(1);
        for _ in 0..n / 19 {
            b.mul_small(10u64.pow(19));
        }
        b.mul_small(10u64.pow((n % 19) as u32));
        b
    }

    fn trim(&mut self) {
        while self.0.last() == Some(&0) {
            self.0.pop();
        }
    }

    fn is_zero(&self) -> bool {
        self.0.is_empty()
    }

    fn bits(&self) -> u64 {
        match self.0.last() {
            Some(top) => 64 * (self.0.len() as u64 - 1) + u64::from(64 - top.leading_zeros()),
            None => 0,
        }
    }

    fn low_u64(&self) -> u64 {
        self.0.first().copied().unwrap_or(0)
    }

    fn bit(&self, i: u64) -> bool {
        self.0
            .get((i / 64) as usize)
            .is_some_and(|l| (l >> (i % 64)) & 1 == 1)
    }

    fn set_bit(&mut self, i: u64) {
        let limb = (i / 64) as usize;
        if self.0.len() <= limb {
            self.0.resize(limb + 1, 0);
        }
        self.0[limb] |= 1 << (i % 64);
    }

    /// True when any bit below bit `i` is set.
    fn any_below(&self, i: u64) -> bool {
        let full = ((i / 64) as usize).min(self.0.len());
        if self.0[..full].iter().any(|&l| l != 0) {
            return true;
        }
        let rem = i % 64;
        rem != 0 && self.0.get(full).is_some_and(|l| l & ((1 << rem) - 1) != 0)
    }

    /// `self mod 2^n`.
    fn low_bits(&self, n: u64) -> Big {
        let limbs = (n.div_ceil(64) as usize).min(self.0.len());
        let mut b = Big(self.0[..limbs].to_vec());
        if !n.is_multiple_of(64) && limbs == n.div_ceil(64) as usize {
            if let Some(top) = b.0.last_mut() {
                *top &= (1 << (n % 64)) - 1;
            }
        }
        b.trim();
        b
    }

    fn shl_bits(&self, n: u64) -> Big {
        if self.is_zero() {
            return Big::zero();
        }
        let (limbs, bits) = ((n / 64) as usize, (n % 64) as u32);
        let mut out = vec![0u64; limbs];
        out.reserve(self.0.len() + 1);
        let mut carry = 0u64;
        for &l in &self.0 {
            if bits == 0 {
                out.push(l);
            } else {
                out.push((l << bits) | carry);
                carry = l >> (64 - bits);
            }
        }
        out.push(carry);
        let mut b = Big(out);
        b.trim();
        b
    }

    fn shr_bits(&self, n: u64) -> Big {
        let (limbs, bits) = ((n / 64) as usize, (n % 64) as u32);
        if limbs >= self.0.len() {
            return Big::zero();
        }
        let src = &self.0[limbs..];
        let mut out = Vec::with_capacity(src.len());
        for (i, &l) in src.iter().enumerate() {
            let high = src.get(i + 1).copied().unwrap_or(0);
            out.push(if bits == 0 {
                l
            } else {
                (l >> bits) | (high << (64 - bits))
            });
        }
        let mut b = Big(out);
        b.trim();
        b
    }

    fn plus(&self, other: &Big) -> Big {
        let (long, short) = if self.0.len() >= other.0.len() {
            (self, other)
        } else {
            (other, self)
        };
        let mut out = Vec::with_capacity(long.0.len() + 1);
        let mut carry = false;
        for (i, &l) in long.0.iter().enumerate() {
            let (s1, c1) = l.overflowing_add(short.0.get(i).copied().unwrap_or(0));
            let (s2, c2) = s1.overflowing_add(u64::from(carry));
            out.push(s2);
            carry = c1 || c2;
        }
        if carry {
            out.push(1);
        }
        Big(out)
    }

    /// `self - other`; requires `self >= other`.
    fn minus(&self, other: &Big) -> Big {
        let mut out = self.clone();
        out.sub_assign(other);
        out
    }

    fn sub_assign(&mut self, other: &Big) {
        let mut borrow = false;
        for i in 0..self.0.len() {
            let (d1, b1) = self.0[i].overflowing_sub(other.0.get(i).copied().unwrap_or(0));
            let (d2, b2) = d1.overflowing_sub(u64::from(borrow));
            self.0[i] = d2;
            borrow = b1 || b2;
        }
        self.trim();
    }

    fn compare(&self, other: &Big) -> Ordering {
        self.0
            .len()
            .cmp(&other.0.len())
            .then_with(|| self.0.iter().rev().cmp(other.0.iter().rev()))
    }

    fn mul_small(&mut self, m: u64) {
        let mut carry = 0u128;
        for l in &mut self.0 {
            let p = u128::from(*l) * u128::from(m) + carry;
            *l = p as u64;
            carry = p >> 64;
        }
        if carry != 0 {
            self.0.push(carry as u64);
        }
        self.trim();
    }

    fn add_small(&mut self, a: u64) {
        let mut carry = a;
        for l in &mut self.0 {
            if carry == 0 {
                return;
            }
            let (s, c) = l.overflowing_add(carry);
            *l = s;
            carry = u64::from(c);
        }
        if carry != 0 {
            self.0.push(carry);
        }
    }

    fn times(&self, other: &Big) -> Big {
        let mut out = vec![0u64; self.0.len() + other.0.len()];
        for (i, &a) in self.0.iter().enumerate() {
            let mut carry = 0u128;
            for (j, &b) in other.0.iter().enumerate() {
                let t = u128::from(a) * u128::from(b) + u128::from(out[i + j]) + carry;
                out[i + j] = t as u64;
                carry = t >> 64;
            }
            out[i + other.0.len()] = carry as u64;
        }
        let mut b = Big(out);
        b.trim();
        b
    }

    /// Divides by a small number in place; returns the remainder.
    fn div_small(&mut self, d: u64) -> u64 {
        let mut rem = 0u128;
        for l in self.0.iter_mut().rev() {
            let cur = (rem << 64) | u128::from(*l);
            *l = (cur / u128::from(d)) as u64;
            rem = cur % u128::from(d);
        }
        self.trim();
        rem as u64
    }

    /// Quotient and remainder by shift-and-subtract: one step per
    /// quotient bit, and callers keep quotients short.
    fn div_rem(&self, den: &Big) -> (Big, Big) {
        let mut rem = self.clone();
        let mut q = Big::zero();
        if den.is_zero() || self.compare(den) == Ordering::Less {
            return (q, rem);
        }
        let top = self.bits() - den.bits();
        let mut d = den.shl_bits(top);
        for i in (0..=top).rev() {
            if rem.compare(&d) != Ordering::Less {
                rem.sub_assign(&d);
                q.set_bit(i);
            }
            d = d.shr_bits(1);
        }
        (q, rem)
    }

    fn to_decimal(&self) -> String {
        let mut n = self.clone();
        let mut chunks = Vec::new();
        while !n.is_zero() {
            chunks.push(n.div_small(10u64.pow(19)));
        }
        let mut s = chunks
            .pop()
            .map_or_else(|| "0".to_string(), |c| c.to_string());
        for c in chunks.iter().rev() {
            s.push_str(&format!("{c:019}"));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// INCRBYFLOAT on a missing key: the increment, printed.
    fn show(s: &str) -> Option<String> {
        add(parse(b"0")?, parse(s.as_bytes())?).map(|f| f.to_human())
    }

    /// Replies of Redis 7.0.15 (x86-64, glibc) to INCRBYFLOAT sequences
    /// starting from a missing key.
    #[test]
    fn sums_match_redis() {
        let cases: &[(&[&str], &str)] = &[
            (&["0.1", "0.2", "0.1"], "0.4"),
            (&["0.1", "0.2"], "0.3"),
            (&["10.5", "0.1"], "10.6"),
            (&["10.5", "0.1", "-5.6"], "5"),
            (&["10.5", "0.1", "-5.6", "-5"], "0"),
            (&["3.0e3", "2.0e2"], "3200"),
            (&["0.000003814697265625", "0.000003814697265625"], "0.00000762939453125"),
            (&["0x10", "0x1.8p1"], "19"),
            (&["+5", ".5", "5.", "0X1P-2", "1e+2", "1E2", "00012"], "222.75"),
            (&["1.1", "2.2"], "3.3"),
            (&["100", "0.00000000000000001"], "100.00000000000000001"),
            (&["1e17", "0.5"], "100000000000000000.5"),
            (&["1e18", "0.5"], "1000000000000000000.5"),
            (&["1e20", "1"], "100000000000000000000"),
            (&["-1.5", "1.5"], "0"),
            (&["0.3", "-0.1", "-0.2"], "0"),
            (&["18446744073709551614", "1"], "18446744073709551615"),
            (&["123.456", "-123.456"], "0"),
            (&["2.5", "0.00000000000000000555"], "2.50000000000000001"),
            (
                &["1.7976931348623157e308", "1.7976931348623157e308"],
                "359538626972463139991842093548208868096772893888658356970628841530353257046248792709403737216774171128857586838851041378617416726902272110715794556052955234146997955372576789671236326588091188869859074894581254961338834769297758245552436667197907705664206565009503223382416235440319971852753604933726679072768",
            ),
        ];
        for (steps, want) in cases {
            let mut acc = parse(b"0").expect("valid");
            for s in *steps {
                let sum = add(acc, parse(s.as_bytes()).expect("valid")).expect("valid");
                // Redis stores the printed text and parses it next time.
                acc = parse(sum.to_human().as_bytes()).expect("valid");
            }
            let LongDouble::Finite(f) = acc else {
                panic!("infinite")
            };
            assert_eq!(f.to_human(), *want, "{steps:?}");
        }
    }

    #[test]
    fn single_values_print_like_redis() {
        let cases = [
            ("0.1", "0.1"),
            ("1e-300", "0"),
            ("0.000003814697265625", "0.00000381469726562"),
            ("0.000011444091796875", "0.00001144409179688"),
            ("-0.000011444091796875", "-0.00001144409179688"),
            ("1.5e-17", "0.00000000000000002"),
            ("-0.0", "0"),
            ("-1e-20", "0"),
            ("5e-18", "0"),
            ("4.9e-18", "0"),
            ("-5e-18", "0"),
            ("1e-17", "0.00000000000000001"),
            ("123456789012345678901234567890", "123456789012345678899921813504"),
            ("0.1234567890123456789", "0.12345678901234568"),
            ("9007199254740993", "9007199254740993"),
            ("18446744073709551617", "18446744073709551616"),
            ("18446744073709551615", "18446744073709551615"),
            ("3.14159265358979323846264338327950288", "3.14159265358979324"),
            ("1.00000000000000000000000000001", "1"),
            ("3.6e-4951", "0"),
            ("0e-99999", "0"),
            ("0x.8", "0.5"),
            ("0.5e1", "5"),
            ("1.5e-4940", "0"),
            (
                "1e300",
                "1000000000000000000008997324079559193870523944273290747938260082321265646596180935755849152083750497190350372508614274835903592556184672983913096260520748646287327135641843653294084255107606016789726652932370030551382947620994540294772781889620606179267611627097410650567187386105690089424915104006144",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(show(input).as_deref(), Some(want), "{input}");
        }
        let big = show("1.18973149535723176502e+4932").expect("valid");
        assert_eq!(big.len(), 4933);
        // Redis printed LDBL_MAX = (2^64 - 1) * 2^16320 exactly.
        assert_eq!(big, Big::from_u64(u64::MAX).shl_bits(16320).to_decimal());
        assert!(big.starts_with("1189731495357231765021263853030970205169063322294624"));
        // Below half the smallest subnormal: strtold underflows to zero.
        assert_eq!(show("1e-4951"), None);
    }

    #[test]
    fn parse_follows_strtold_and_redis() {
        for bad in [
            "",
            " 1",
            "1 ",
            "\t1",
            "nan",
            "NaN",
            "nan(123)",
            "abc",
            "1_0",
            "1e",
            "1e+",
            "0x",
            "0x1p",
            "infin",
            "-.",
            ".",
            "+.e1",
            "1e5000",
            "1e-5000",
            "1e-99999",
            "1e99999999999999999999999",
            "1.18973149535723176508e+4932",
            "1\u{0}2",
            "--1",
            "0x1.8p1.5",
            "1.5 ",
        ] {
            assert_eq!(parse(bad.as_bytes()), None, "{bad:?}");
        }
        for inf in ["inf", "-inf", "INF", "infinity", "-INFINITY", "+Inf"] {
            assert_eq!(parse(inf.as_bytes()), Some(LongDouble::Infinite), "{inf}");
        }
        assert!(parse("x".repeat(MAX_CHARS).as_bytes()).is_none());
        let long_ok = format!("1.{}", "0".repeat(MAX_CHARS - 3));
        assert_eq!(show(&long_ok).as_deref(), Some("1"));
    }

    #[test]
    fn overflow_and_nan_have_no_sum() {
        let max = parse(b"1.18973149535723176502e+4932").expect("valid");
        assert_eq!(add(max, max), None);
        assert_eq!(
            add(parse(b"inf").expect("valid"), parse(b"1").expect("valid")),
            None
        );
        assert_eq!(
            add(
                parse(b"-inf").expect("valid"),
                parse(b"inf").expect("valid")
            ),
            None
        );
        let neg_max = parse(b"-1.18973149535723176502e+4932").expect("valid");
        assert!(add(max, neg_max).is_some_and(|f| f.to_human() == "0"));
    }

    #[test]
    fn big_arithmetic() {
        let a = Big::pow10(40);
        let (q, r) = a.div_rem(&Big::pow10(21));
        assert_eq!(q.to_decimal(), "10000000000000000000");
        assert!(r.is_zero());
        let b = a.plus(&Big::from_u64(7));
        let (q, r) = b.div_rem(&Big::from_u64(10));
        assert_eq!(q.to_decimal(), format!("1{}", "0".repeat(39)));
        assert_eq!(r.to_decimal(), "7");
        assert_eq!(b.minus(&a).to_decimal(), "7");
        assert_eq!(
            Big::from_u64(1).shl_bits(130).shr_bits(129).to_decimal(),
            "2"
        );
        assert_eq!(Big::from_u64(0xff).low_bits(4).to_decimal(), "15");
        assert!(Big::from_u64(8).any_below(4));
        assert!(!Big::from_u64(8).any_below(3));
        assert_eq!(Big::zero().to_decimal(), "0");
    }
}
