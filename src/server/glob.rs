//! Redis's glob matcher (`stringmatchlen` in Redis 7's `util.c`), ported
//! byte for byte, plus the literal prefix of a pattern for seeking in the
//! ordered index. KEYS, SCAN's MATCH and anything else that matches names
//! the way Redis does uses this module; it owns no I/O and no state.
//!
//! Faithful means Redis's corner cases too, including the odd ones:
//! - `*` matches any run of bytes, `?` exactly one, `\x` the byte `x`; a
//!   trailing lone `\` matches a `\`.
//! - `[abc]`, `[^abc]`, `[a-z]`; a reversed range `[z-a]` means `[a-z]`;
//!   inside a class `\x` is `x`; a `[` with no closing `]` ends the class
//!   at the end of the pattern (so `[ab` is `[ab]`, and `[` matches any
//!   one byte through its `^`-less empty class only when negated);
//!   `[a-]` reads `a-]` as a range from `a` to `]`.
//! - Range ends compare as C `char`, which is signed on the platforms Redis
//!   runs on: bytes 0x80..0xFF sort *before* 0x00 in a range, so `[a-\xff]`
//!   means `[\xff-a]`, i.e. 0x80..=0xFF and 0x00..=0x61.
//! - `nocase` folds ASCII only (Redis runs in the C locale for `ctype`);
//!   an escaped byte inside a class is compared case-sensitively even then.
//! - An empty string never matches `*` here (Redis's KEYS and SCAN treat
//!   the pattern `*` as "everything" before calling the matcher; callers
//!   must do the same, see `is_match_all`).
//! - Protection against exponential patterns: once the rest of a pattern
//!   after a `*` fails at every position of the string, earlier `*`s stop
//!   trying longer matches (`skipLongerMatches`), and recursion deeper
//!   than 1000 nested `*`s gives "no match", as in Redis 7.0.15+.

/// Nested `*` recursions allowed before a match attempt gives up (Redis's
/// `nesting > 1000` check).
const MAX_NESTING: u32 = 1000;

/// True when `string` matches the glob `pattern` exactly as Redis's
/// `stringmatchlen(pattern, string, nocase)` decides.
pub fn matches(pattern: &[u8], string: &[u8], nocase: bool) -> bool {
    let mut skip_longer = false;
    match_impl(pattern, string, nocase, &mut skip_longer, 0)
}

/// True for the pattern `*`, which Redis's KEYS and SCAN treat as "every
/// key" without calling the matcher (so it also matches the empty key,
/// which `matches(b"*", b"", _)` does not).
pub fn is_match_all(pattern: &[u8]) -> bool {
    pattern == b"*"
}

/// The bytes every string matching `pattern` (case-sensitively) must start
/// with: the pattern's leading literal bytes, with `\x` escapes resolved,
/// up to the first `*`, `?` or `[`. Empty when the pattern starts with a
/// wildcard. A pattern with no wildcard at all returns all of itself.
pub fn literal_prefix(pattern: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < pattern.len() {
        match pattern[i] {
            b'*' | b'?' | b'[' => break,
            b'\\' if i + 1 < pattern.len() => {
                out.push(pattern[i + 1]);
                i += 2;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

/// A byte as C's (signed) `char` promoted to `int`, for range comparisons.
fn signed(b: u8) -> i32 {
    i32::from(b as i8)
}

/// C's `tolower` in the C locale, on a (signed) `char` value.
fn lower(c: i32) -> i32 {
    if (i32::from(b'A')..=i32::from(b'Z')).contains(&c) {
        c + 32
    } else {
        c
    }
}

fn eq(a: u8, b: u8, nocase: bool) -> bool {
    if nocase {
        a.eq_ignore_ascii_case(&b)
    } else {
        a == b
    }
}

/// The port of `stringmatchlen_impl`. `p` is the pattern offset, `s` the
/// string offset; C reads a NUL terminator one past the pattern's end,
/// which `at` reproduces (it can only be compared, never matched as a
/// special character, since none of them is NUL).
fn match_impl(
    pattern: &[u8],
    string: &[u8],
    nocase: bool,
    skip_longer: &mut bool,
    nesting: u32,
) -> bool {
    if nesting > MAX_NESTING {
        return false;
    }
    let at = |i: usize| pattern.get(i).copied().unwrap_or(0);
    let mut p = 0usize;
    let mut s = 0usize;
    while p < pattern.len() && s < string.len() {
        match pattern[p] {
            b'*' => {
                while p < pattern.len() && at(p + 1) == b'*' {
                    p += 1;
                }
                if pattern.len() - p == 1 {
                    return true;
                }
                while s < string.len() {
                    if match_impl(
                        &pattern[p + 1..],
                        &string[s..],
                        nocase,
                        skip_longer,
                        nesting + 1,
                    ) {
                        return true;
                    }
                    if *skip_longer {
                        return false;
                    }
                    s += 1;
                }
                // The rest of the pattern matched nowhere in the rest of
                // the string, so no earlier `*` can help by matching more.
                *skip_longer = true;
                return false;
            }
            b'?' => s += 1,
            b'[' => {
                p += 1;
                let not = at(p) == b'^';
                if not {
                    p += 1;
                }
                let c = string[s];
                let mut matched = false;
                loop {
                    let left = pattern.len().saturating_sub(p);
                    if at(p) == b'\\' && left >= 2 {
                        p += 1;
                        if pattern[p] == c {
                            matched = true;
                        }
                    } else if at(p) == b']' {
                        break;
                    } else if left == 0 {
                        // No closing bracket: step back so the shared
                        // advance below lands exactly on the end.
                        p -= 1;
                        break;
                    } else if left >= 3 && pattern[p + 1] == b'-' {
                        let (mut start, mut end) = (signed(pattern[p]), signed(pattern[p + 2]));
                        let mut ch = signed(c);
                        if start > end {
                            std::mem::swap(&mut start, &mut end);
                        }
                        if nocase {
                            start = lower(start);
                            end = lower(end);
                            ch = lower(ch);
                        }
                        p += 2;
                        if ch >= start && ch <= end {
                            matched = true;
                        }
                    } else if eq(pattern[p], c, nocase) {
                        matched = true;
                    }
                    p += 1;
                }
                if not {
                    matched = !matched;
                }
                if !matched {
                    return false;
                }
                s += 1;
            }
            _ => {
                if pattern[p] == b'\\' && pattern.len() - p >= 2 {
                    p += 1;
                }
                if !eq(pattern[p], string[s], nocase) {
                    return false;
                }
                s += 1;
            }
        }
        p += 1;
        if s == string.len() {
            while p < pattern.len() && pattern[p] == b'*' {
                p += 1;
            }
            break;
        }
    }
    p >= pattern.len() && s == string.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every row of `HAND` and `FUZZ` was produced by storing each of
    /// `STRINGS` as a key in redis-server 7.0.15 and running `KEYS pattern`
    /// (no pattern is exactly `*`, which KEYS special-cases).
    /// The strings every pattern below is tried against.
    const STRINGS: &[&[u8]] = &[
        b"", b"a", b"b", b"c", b"d", b"e", b"x", b"z", b"A", b"Z", b"-", b"]", b"[", b"^", b"\\",
        b"*", b"?", b"!", b"ab", b"ba", b"abc", b"aab", b"a-b", b"a]", b"[a]", b"-a", b"hello",
        b"hallo", b"hbllo", b"hllo", b"heello", b"h\\llo", b"\x00", b"\x7f", b"\x80", b"\xff",
        b"a\xff", b"\xffa", b"a\x00b",
    ];

    /// (pattern, the strings of `STRINGS` it matches; all others it does not).
    const HAND: &[(&[u8], &[&[u8]])] = &[
        (b"h?llo", &[b"hello", b"hallo", b"hbllo", b"h\\llo"]),
        (
            b"h*llo",
            &[b"hello", b"hallo", b"hbllo", b"hllo", b"heello", b"h\\llo"],
        ),
        (b"h[ae]llo", &[b"hello", b"hallo"]),
        (b"h[^e]llo", &[b"hallo", b"hbllo", b"h\\llo"]),
        (b"h[a-b]llo", &[b"hallo", b"hbllo"]),
        (b"h[b-a]llo", &[b"hallo", b"hbllo"]),
        (b"[z-a]", &[b"a", b"b", b"c", b"d", b"e", b"x", b"z"]),
        (b"[a-z]", &[b"a", b"b", b"c", b"d", b"e", b"x", b"z"]),
        (
            b"[A-z]",
            &[
                b"a", b"b", b"c", b"d", b"e", b"x", b"z", b"A", b"Z", b"]", b"[", b"^", b"\\",
            ],
        ),
        (b"[", &[]),
        (
            b"[^",
            &[
                b"a", b"b", b"c", b"d", b"e", b"x", b"z", b"A", b"Z", b"-", b"]", b"[", b"^",
                b"\\", b"*", b"?", b"!", b"\x00", b"\x7f", b"\x80", b"\xff",
            ],
        ),
        (b"[]", &[]),
        (b"[]]", &[]),
        (b"[^]]", &[b"a]"]),
        (b"[ab", &[b"a", b"b"]),
        (
            b"[^ab",
            &[
                b"c", b"d", b"e", b"x", b"z", b"A", b"Z", b"-", b"]", b"[", b"^", b"\\", b"*",
                b"?", b"!", b"\x00", b"\x7f", b"\x80", b"\xff",
            ],
        ),
        (b"[a-", &[b"a", b"-"]),
        (b"[a-]", &[b"a", b"]", b"^"]),
        (b"[-a]", &[b"a", b"-"]),
        (b"[a\\]]", &[b"a", b"]"]),
        (b"[\\]]", &[b"]"]),
        (b"[\\", &[b"\\"]),
        (b"[\\\\]", &[b"\\"]),
        (b"\\", &[b"\\"]),
        (b"\\\\", &[b"\\"]),
        (b"a\\", &[]),
        (b"\\*", &[b"*"]),
        (b"\\?", &[b"?"]),
        (b"\\[a]", &[b"[a]"]),
        (b"\\a", &[b"a"]),
        (
            b"a*",
            &[
                b"a", b"ab", b"abc", b"aab", b"a-b", b"a]", b"a\xff", b"a\x00b",
            ],
        ),
        (b"*a", &[b"a", b"ba", b"-a", b"\xffa"]),
        (
            b"*a*",
            &[
                b"a", b"ab", b"ba", b"abc", b"aab", b"a-b", b"a]", b"[a]", b"-a", b"hallo",
                b"a\xff", b"\xffa", b"a\x00b",
            ],
        ),
        (
            b"**",
            &[
                b"a", b"b", b"c", b"d", b"e", b"x", b"z", b"A", b"Z", b"-", b"]", b"[", b"^",
                b"\\", b"*", b"?", b"!", b"ab", b"ba", b"abc", b"aab", b"a-b", b"a]", b"[a]",
                b"-a", b"hello", b"hallo", b"hbllo", b"hllo", b"heello", b"h\\llo", b"\x00",
                b"\x7f", b"\x80", b"\xff", b"a\xff", b"\xffa", b"a\x00b",
            ],
        ),
        (
            b"***",
            &[
                b"a", b"b", b"c", b"d", b"e", b"x", b"z", b"A", b"Z", b"-", b"]", b"[", b"^",
                b"\\", b"*", b"?", b"!", b"ab", b"ba", b"abc", b"aab", b"a-b", b"a]", b"[a]",
                b"-a", b"hello", b"hallo", b"hbllo", b"hllo", b"heello", b"h\\llo", b"\x00",
                b"\x7f", b"\x80", b"\xff", b"a\xff", b"\xffa", b"a\x00b",
            ],
        ),
        (b"a**b", &[b"ab", b"aab", b"a-b", b"a\x00b"]),
        (
            b"?",
            &[
                b"a", b"b", b"c", b"d", b"e", b"x", b"z", b"A", b"Z", b"-", b"]", b"[", b"^",
                b"\\", b"*", b"?", b"!", b"\x00", b"\x7f", b"\x80", b"\xff",
            ],
        ),
        (b"??", &[b"ab", b"ba", b"a]", b"-a", b"a\xff", b"\xffa"]),
        (
            b"*?",
            &[
                b"a", b"b", b"c", b"d", b"e", b"x", b"z", b"A", b"Z", b"-", b"]", b"[", b"^",
                b"\\", b"*", b"?", b"!", b"ab", b"ba", b"abc", b"aab", b"a-b", b"a]", b"[a]",
                b"-a", b"hello", b"hallo", b"hbllo", b"hllo", b"heello", b"h\\llo", b"\x00",
                b"\x7f", b"\x80", b"\xff", b"a\xff", b"\xffa", b"a\x00b",
            ],
        ),
        (
            b"?*",
            &[
                b"a", b"b", b"c", b"d", b"e", b"x", b"z", b"A", b"Z", b"-", b"]", b"[", b"^",
                b"\\", b"*", b"?", b"!", b"ab", b"ba", b"abc", b"aab", b"a-b", b"a]", b"[a]",
                b"-a", b"hello", b"hallo", b"hbllo", b"hllo", b"heello", b"h\\llo", b"\x00",
                b"\x7f", b"\x80", b"\xff", b"a\xff", b"\xffa", b"a\x00b",
            ],
        ),
        (
            b"[^a]*",
            &[
                b"b", b"c", b"d", b"e", b"x", b"z", b"A", b"Z", b"-", b"]", b"[", b"^", b"\\",
                b"*", b"?", b"!", b"ba", b"[a]", b"-a", b"hello", b"hallo", b"hbllo", b"hllo",
                b"heello", b"h\\llo", b"\x00", b"\x7f", b"\x80", b"\xff", b"\xffa",
            ],
        ),
        (b"*[", &[]),
        (b"a[", &[]),
        (b"[a", &[b"a"]),
        (b"[*]", &[b"*"]),
        (b"[?]", &[b"?"]),
        (b"[a-c-e]", &[b"a", b"b", b"c", b"e", b"-"]),
        (b"[a-ce]", &[b"a", b"b", b"c", b"e"]),
        (b"[\\-]", &[b"-"]),
        (b"[x-]", &[b"a", b"b", b"c", b"d", b"e", b"x", b"]", b"^"]),
        (b"[]-a]", &[]),
        (b"[!a]", &[b"a", b"!"]),
        (
            b"[\x00-\x7f]",
            &[
                b"a", b"b", b"c", b"d", b"e", b"x", b"z", b"A", b"Z", b"-", b"]", b"[", b"^",
                b"\\", b"*", b"?", b"!", b"\x00", b"\x7f",
            ],
        ),
        (
            b"[a-\xff]",
            &[
                b"a", b"A", b"Z", b"-", b"]", b"[", b"^", b"\\", b"*", b"?", b"!", b"\x00", b"\xff",
            ],
        ),
        (b"[\x80-\xff]", &[b"\x80", b"\xff"]),
        (b"[\xff-\x80]", &[b"\x80", b"\xff"]),
        (
            b"[\x7f-\x80]",
            &[
                b"a", b"b", b"c", b"d", b"e", b"x", b"z", b"A", b"Z", b"-", b"]", b"[", b"^",
                b"\\", b"*", b"?", b"!", b"\x00", b"\x7f", b"\x80", b"\xff",
            ],
        ),
        (b"*\xff", &[b"\xff", b"a\xff"]),
        (b"\xff*", &[b"\xff", b"\xffa"]),
        (
            b"[^\x00]",
            &[
                b"a", b"b", b"c", b"d", b"e", b"x", b"z", b"A", b"Z", b"-", b"]", b"[", b"^",
                b"\\", b"*", b"?", b"!", b"\x7f", b"\x80", b"\xff",
            ],
        ),
        (b"a\x00b", &[b"a\x00b"]),
        (b"a?b", &[b"aab", b"a-b", b"a\x00b"]),
        (b"a[\x00]b", &[b"a\x00b"]),
        (b"h\\llo", &[b"hllo"]),
        (b"h\\\\llo", &[b"h\\llo"]),
        (b"*\\", &[b"\\"]),
        (b"[[]", &[b"["]),
        (b"[]a]", &[]),
        (b"[a-a]", &[b"a"]),
        (
            b"[^-]",
            &[
                b"a", b"b", b"c", b"d", b"e", b"x", b"z", b"A", b"Z", b"]", b"[", b"^", b"\\",
                b"*", b"?", b"!", b"\x00", b"\x7f", b"\x80", b"\xff",
            ],
        ),
        (
            b"[--z]",
            &[
                b"a", b"b", b"c", b"d", b"e", b"x", b"z", b"A", b"Z", b"-", b"]", b"[", b"^",
                b"\\", b"?",
            ],
        ),
        (
            b"[a-c]*",
            &[
                b"a", b"b", b"c", b"ab", b"ba", b"abc", b"aab", b"a-b", b"a]", b"a\xff", b"a\x00b",
            ],
        ),
        (
            b"*[a-c]",
            &[
                b"a", b"b", b"c", b"ab", b"ba", b"abc", b"aab", b"a-b", b"-a", b"\xffa", b"a\x00b",
            ],
        ),
        (
            b"h*l*o",
            &[b"hello", b"hallo", b"hbllo", b"hllo", b"heello", b"h\\llo"],
        ),
        (
            b"h**l?o",
            &[b"hello", b"hallo", b"hbllo", b"hllo", b"heello", b"h\\llo"],
        ),
        (
            b"[hx]*",
            &[
                b"x", b"hello", b"hallo", b"hbllo", b"hllo", b"heello", b"h\\llo",
            ],
        ),
        (b"*]", &[b"]", b"a]", b"[a]"]),
        (b"a]", &[b"a]"]),
        (b"[a]]", &[b"a]"]),
        (
            b"[^]",
            &[
                b"a", b"b", b"c", b"d", b"e", b"x", b"z", b"A", b"Z", b"-", b"]", b"[", b"^",
                b"\\", b"*", b"?", b"!", b"\x00", b"\x7f", b"\x80", b"\xff",
            ],
        ),
        (b"^", &[b"^"]),
    ];

    /// Random patterns: bit i of the mask is set when the pattern matches `STRINGS[i]`.
    const FUZZ: &[(&[u8], u64)] = &[
        (b"***-\xfflb", 0x0),
        (b"***a*\xff", 0x1000000000),
        (b"*-?", 0x2400000),
        (b"*-bbh*", 0x0),
        (b"*-\xff[h", 0x0),
        (b"*[^*\\b\xff", 0x27ff9b7ffa),
        (b"*^??a[", 0x0),
        (b"*^]a*a", 0x0),
        (b"*^bb", 0x0),
        (b"*^h", 0x0),
        (b"*^h]", 0x0),
        (b"*aalh", 0x0),
        (b"*aa\xff", 0x0),
        (b"*al\\h^", 0x0),
        (b"*b]\xff", 0x0),
        (b"*h^b\xff", 0x0),
        (b"*hl\xff^", 0x0),
        (b"*\xffh", 0x0),
        (b"-", 0x400),
        (b"-**a?", 0x0),
        (b"-*-*", 0x0),
        (b"-*-^bb*", 0x0),
        (b"-*[\\-?\xff", 0x0),
        (b"--[b", 0x0),
        (b"--b\\", 0x0),
        (b"--la^", 0x0),
        (b"-?-\xff", 0x0),
        (b"-?[*", 0x0),
        (b"-?]\\-?", 0x0),
        (b"-\\-b^b^", 0x0),
        (b"-\\?-]", 0x0),
        (b"-\\?l\\", 0x0),
        (b"-\\\\haah", 0x0),
        (b"-\\^\\[l", 0x0),
        (b"-\\h", 0x0),
        (b"-]a[?ba", 0x0),
        (b"-]bh", 0x0),
        (b"-^*\\??b", 0x0),
        (b"-^[a*a", 0x0),
        (b"-^[l*^", 0x0),
        (b"-^a*", 0x0),
        (b"-^lb", 0x0),
        (b"-aba-?", 0x0),
        (b"-b\\a?", 0x0),
        (b"-h\xff", 0x0),
        (b"-lh", 0x0),
        (b"-\xff*?-", 0x0),
        (b"?*??", 0x40fd700000),
        (b"?*b*", 0x4010740000),
        (b"??-?[[b", 0x0),
        (b"??\\ab[", 0x0),
        (b"??^l??\\", 0x0),
        (b"??lh--", 0x0),
        (b"?\\?a^", 0x0),
        (b"?]", 0x800000),
        (b"?]?-", 0x0),
        (b"?^][^ba", 0x0),
        (b"?^^-b*", 0x0),
        (b"?^l^?a", 0x0),
        (b"?a\\hah", 0x0),
        (b"?a^\\*", 0x0),
        (b"?b[b-a]", 0x0),
        (b"?b\xff[\\-", 0x0),
        (b"?h", 0x0),
        (b"?h^a", 0x0),
        (b"?l[-\\", 0x0),
        (b"?lb", 0x0),
        (b"?\xff^*h[]", 0x0),
        (b"?\xffha", 0x0),
        (b"[*\\", 0xc000),
        (b"[*]\xff[", 0x0),
        (b"[*hl", 0x8000),
        (b"[-", 0x400),
        (b"[-[?l\xff]", 0x800011400),
        (b"[?*", 0x18000),
        (b"[?\\\\", 0x14000),
        (b"[\\]*]?\\", 0x0),
        (b"[^*\\\\\xff-", 0x700033bfe),
        (b"[^*abh", 0xf00037ff8),
        (b"[a*", 0x8002),
        (b"[a[b", 0x1006),
        (b"[b", 0x4),
        (b"[b\\", 0x4004),
        (b"[bl]?", 0x80000),
        (b"[h", 0x0),
        (b"[h?", 0x10000),
        (b"[h]^*[", 0x0),
        (b"[h^[\xff?^", 0x800013000),
        (b"[\xff", 0x800000000),
        (b"[\xff*?]", 0x800018000),
        (b"[\xff]*", 0x2800000000),
        (b"\\*h\\bh", 0x0),
        (b"\\--?", 0x0),
        (b"\\-[^??b", 0x2000000),
        (b"\\?-", 0x0),
        (b"\\?[", 0x0),
        (b"\\?^", 0x0),
        (b"\\?^[]a", 0x0),
        (b"\\\\?\\-?", 0x0),
        (b"\\\\?l", 0x0),
        (b"\\\\bh\\b", 0x0),
        (b"\\\\h?b[", 0x0),
        (b"\\]h?\xff", 0x0),
        (b"\\]\xffh\xff-\xff", 0x0),
        (b"\\^*", 0x2000),
        (b"\\^\\*\\*\\", 0x0),
        (b"\\^]-\xff-", 0x0),
        (b"\\b", 0x4),
        (b"\\b?-?[", 0x0),
        (b"\\b]\xffa\\?", 0x0),
        (b"\\h*", 0xfc000000),
        (b"\\h*[", 0x0),
        (b"\\h^", 0x0),
        (b"\\l-a[h", 0x0),
        (b"\\\xff[", 0x0),
        (b"\\\xff]]l]\xff", 0x0),
        (b"\\\xffhhla", 0x0),
        (b"]", 0x800),
        (b"]*", 0x800),
        (b"]*-^ahb", 0x0),
        (b"]*a", 0x0),
        (b"]-\\\\\xfflb", 0x0),
        (b"]-bb-", 0x0),
        (b"]?-a", 0x0),
        (b"][", 0x0),
        (b"][^]\xff*", 0x0),
        (b"]\\", 0x0),
        (b"]\\]", 0x0),
        (b"]]", 0x0),
        (b"]][]\xff", 0x0),
        (b"]^", 0x0),
        (b"]a?", 0x0),
        (b"]a]]^b?", 0x0),
        (b"]b", 0x0),
        (b"]b*?", 0x0),
        (b"]b-", 0x0),
        (b"]b[al*", 0x0),
        (b"]b^-\\a", 0x0),
        (b"]b^\xff-\\h", 0x0),
        (b"]l-", 0x0),
        (b"]l-*[l\xff", 0x0),
        (b"]l\\**", 0x0),
        (b"]l^]h^", 0x0),
        (b"]laa", 0x0),
        (b"]\xffb\\", 0x0),
        (b"]\xff\xff]*", 0x0),
        (b"^*", 0x2000),
        (b"^-", 0x0),
        (b"^-\xff*h[", 0x0),
        (b"^[h", 0x0),
        (b"^[\xff*a", 0x0),
        (b"^\\[*", 0x0),
        (b"^\\[l^]h", 0x0),
        (b"^\\]", 0x0),
        (b"^\\h[\xff?l", 0x0),
        (b"^][[", 0x0),
        (b"^]]-*b", 0x0),
        (b"^]^?]", 0x0),
        (b"^]b", 0x0),
        (b"^^", 0x0),
        (b"^a", 0x0),
        (b"^a[", 0x0),
        (b"^a\xffb?", 0x0),
        (b"^b", 0x0),
        (b"^b-h", 0x0),
        (b"^b-h[a\xff", 0x0),
        (b"^b?b", 0x0),
        (b"^h?", 0x0),
        (b"^l", 0x0),
        (b"^l-b", 0x0),
        (b"^lbbb[", 0x0),
        (b"^\xffb]", 0x0),
        (b"a", 0x2),
        (b"a*^-l]", 0x0),
        (b"a-", 0x0),
        (b"a-*", 0x400000),
        (b"a-*\xffa", 0x0),
        (b"a-\\\\]*", 0x0),
        (b"a-]", 0x0),
        (b"a-]a\xffh^", 0x0),
        (b"a-b", 0x400000),
        (b"a-ba", 0x0),
        (b"a?[*", 0x0),
        (b"a?a\xff", 0x0),
        (b"a?b?", 0x0),
        (b"a[-b", 0x40000),
        (b"a[\\[[h", 0x0),
        (b"a[a", 0x0),
        (b"a\\**", 0x0),
        (b"a]h\\\\", 0x0),
        (b"a^*?*", 0x0),
        (b"aa", 0x0),
        (b"ah\\h?-", 0x0),
        (b"ah\xfflhlh", 0x0),
        (b"al-l\\a", 0x0),
        (b"al[[]b", 0x0),
        (b"b", 0x4),
        (b"b*^\xffa^a", 0x0),
        (b"b*h*", 0x0),
        (b"b*l\\[", 0x0),
        (b"b*lhh]*", 0x0),
        (b"b-[\\", 0x0),
        (b"b?", 0x80000),
        (b"b?**\\hb", 0x0),
        (b"b?a", 0x0),
        (b"b[[[\xff[]", 0x0),
        (b"b[ah", 0x80000),
        (b"b\\-\\ab-", 0x0),
        (b"b]", 0x0),
        (b"b]^", 0x0),
        (b"b^-*h?", 0x0),
        (b"ba", 0x80000),
        (b"bb", 0x0),
        (b"bb*]?*", 0x0),
        (b"bb?bb", 0x0),
        (b"bb[\xff", 0x0),
        (b"bb\\^*", 0x0),
        (b"bhh^", 0x0),
        (b"bl", 0x0),
        (b"bl]", 0x0),
        (b"b\xffa\xff?-", 0x0),
        (b"h", 0x0),
        (b"h*?", 0xfc000000),
        (b"h*ab", 0x0),
        (b"h*\xff\xff", 0x0),
        (b"h-", 0x0),
        (b"h-*?b[", 0x0),
        (b"h?*^?", 0x0),
        (b"h?-", 0x0),
        (b"h?]b\\", 0x0),
        (b"h?b\xff*]", 0x0),
        (b"h?l\\h", 0x0),
        (b"h[", 0x0),
        (b"h[^[aah", 0x0),
        (b"h[aa?-", 0x0),
        (b"h\\^^", 0x0),
        (b"h]*\\", 0x0),
        (b"h]*\xff", 0x0),
        (b"h]-\\", 0x0),
        (b"h^^\\]", 0x0),
        (b"h^b[?h", 0x0),
        (b"ha", 0x0),
        (b"ha\xff*", 0x0),
        (b"hb", 0x0),
        (b"hbhb^l?", 0x0),
        (b"hbl", 0x0),
        (b"hll", 0x0),
        (b"h\xffa\xff\xff^", 0x0),
        (b"l", 0x0),
        (b"l*\\a?\\]", 0x0),
        (b"l*h?\xff", 0x0),
        (b"l*\xff", 0x0),
        (b"l-*?", 0x0),
        (b"l-?*a", 0x0),
        (b"l-[", 0x0),
        (b"l-[b[?", 0x0),
        (b"l-^[", 0x0),
        (b"l-\xff-", 0x0),
        (b"l?b*[", 0x0),
        (b"l[*h[\\", 0x0),
        (b"l[-", 0x0),
        (b"l[?", 0x0),
        (b"l[h\xffh-", 0x0),
        (b"l[la[h", 0x0),
        (b"l\\", 0x0),
        (b"l\\*\\\\\xff", 0x0),
        (b"l\\[", 0x0),
        (b"l\\b", 0x0),
        (b"l]]b", 0x0),
        (b"l^", 0x0),
        (b"l^h", 0x0),
        (b"lh?a]", 0x0),
        (b"ll", 0x0),
        (b"ll][[a", 0x0),
        (b"llb?*", 0x0),
        (b"llh", 0x0),
        (b"llh-b\\a", 0x0),
        (b"\xff", 0x800000000),
        (b"\xff*[[a*^", 0x2000000000),
        (b"\xff*\\[", 0x0),
        (b"\xff-bb", 0x0),
        (b"\xff?-*", 0x0),
        (b"\xff?^[?", 0x0),
        (b"\xff?al^^^", 0x0),
        (b"\xff\\?", 0x0),
        (b"\xff\\\xff", 0x0),
        (b"\xff]", 0x0),
        (b"\xff]-*", 0x0),
        (b"\xff]^^a]", 0x0),
        (b"\xffa", 0x2000000000),
        (b"\xffa-h]", 0x0),
        (b"\xffaa\\[-[", 0x0),
        (b"\xffab", 0x0),
        (b"\xffb", 0x0),
        (b"\xffh\\hh", 0x0),
        (b"\xffh]lala", 0x0),
        (b"\xffhba?b", 0x0),
        (b"\xffl\xff]?a", 0x0),
        (b"\xff\xff", 0x0),
        (b"\xff\xff*", 0x0),
    ];

    fn show(b: &[u8]) -> String {
        b.escape_ascii().to_string()
    }

    #[test]
    fn agrees_with_redis_on_hand_picked_corner_cases() {
        for &(pattern, expected) in HAND {
            for &string in STRINGS {
                assert_eq!(
                    matches(pattern, string, false),
                    expected.contains(&string),
                    "pattern {} string {}",
                    show(pattern),
                    show(string)
                );
            }
        }
    }

    #[test]
    fn agrees_with_redis_on_random_patterns() {
        for &(pattern, mask) in FUZZ {
            for (i, &string) in STRINGS.iter().enumerate() {
                assert_eq!(
                    matches(pattern, string, false),
                    mask & (1 << i) != 0,
                    "pattern {} string {}",
                    show(pattern),
                    show(string)
                );
            }
        }
    }

    /// Checked against redis-server 7.0.15 with `CONFIG GET pattern`,
    /// which matches parameter names with `nocase` set.
    #[test]
    fn nocase_folds_ascii_except_escapes_in_classes() {
        let name = b"maxmemory";
        for (pattern, expected) in [
            (&b"MAXMEM*"[..], true),
            (b"[M]axmemory", true),
            (b"[\\M]axmemory", false),
            (b"[^\\M]axmemory", true),
            (b"[^M]axmemory", false),
            (b"[A-Z]axmemory", true),
            (b"[a-z]AXMEMORY", true),
            (b"maxmemor[X-Z]", true),
            (b"[n-l]axmemory", true),
            // Ends are folded after the swap: `Z-a` becomes `z-a`, empty.
            (b"[Z-a]axmemory", false),
            (b"[a-Z]axmemory", false),
            (b"[_-n]axmemory", true),
        ] {
            assert_eq!(matches(pattern, name, true), expected, "{}", show(pattern));
        }
        assert!(!matches(b"[M]axmemory", name, false));
    }

    /// Checked against redis-server 7.0.15: a key of 1002 `a`s matches
    /// `*a` repeated 1000 times but not 1001 times (the nesting limit).
    #[test]
    fn nesting_limit_gives_no_match_past_a_thousand_stars() {
        let key = vec![b'a'; 1002];
        assert!(matches(&b"*a".repeat(999), &key, false));
        assert!(matches(&b"*a".repeat(1000), &key, false));
        assert!(!matches(&b"*a".repeat(1001), &key, false));
    }

    /// Without `skipLongerMatches` this takes exponential time: every `*`
    /// would retry every split of the string.
    #[test]
    fn exponential_pattern_fails_fast() {
        let key = vec![b'a'; 200];
        let pattern = [b"a*".repeat(40), b"b".to_vec()].concat();
        let started = std::time::Instant::now();
        assert!(!matches(&pattern, &key, false));
        // A generous bound: the point is "not exponential", not speed.
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
        assert!(matches(
            &[b"a*".repeat(40), b"a".to_vec()].concat(),
            &key,
            false
        ));
    }

    #[test]
    fn match_all_is_only_a_single_star() {
        assert!(is_match_all(b"*"));
        assert!(!is_match_all(b"**"));
        assert!(!matches(b"*", b"", false));
        assert!(!matches(b"**", b"", false));
        assert!(matches(b"", b"", false));
        assert!(!matches(b"", b"a", false));
    }

    #[test]
    fn literal_prefix_stops_at_the_first_wildcard() {
        assert_eq!(literal_prefix(b"user:1000:*"), b"user:1000:");
        assert_eq!(literal_prefix(b"*"), b"");
        assert_eq!(literal_prefix(b"ab?c"), b"ab");
        assert_eq!(literal_prefix(b"ab[c]"), b"ab");
        assert_eq!(literal_prefix(b"a\\\\*b\\?c*"), b"a\\");
        assert_eq!(literal_prefix(b"a\\*b\\?c*"), b"a*b?c");
        assert_eq!(literal_prefix(b"plain"), b"plain");
        assert_eq!(literal_prefix(b"end\\"), b"end\\");
        assert_eq!(literal_prefix(b"end\\\\"), b"end\\");
    }

    /// Every string a pattern matches starts with its literal prefix, so
    /// seeking to the prefix never loses a match.
    #[test]
    fn literal_prefix_is_a_prefix_of_every_match() {
        let patterns = HAND.iter().map(|h| h.0).chain(FUZZ.iter().map(|f| f.0));
        for pattern in patterns {
            let prefix = literal_prefix(pattern);
            for &string in STRINGS {
                if matches(pattern, string, false) {
                    assert!(string.starts_with(&prefix), "{}", show(pattern));
                }
            }
        }
    }
}
