//! KEYRANGE: the ordered range query Redis lacks, in ZRANGEBYLEX's
//! notation (`-`, `+`, `[key`, `(key`), forward or REV, with LIMIT and
//! optional values, walked in bounded slices.

use std::ops::Bound;

use bytes::Bytes;

use super::{borrowed, walk, SLICE};
use crate::server::cmd::args::{is, parse_i64};
use crate::server::cmd::Ctx;
use crate::server::error::CommandError;
use crate::server::reply::Reply;

/// One end of a ZRANGEBYLEX-style range.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Lex {
    /// `-`
    Min,
    /// `+`
    Max,
    /// `[key`
    Incl(Bytes),
    /// `(key`
    Excl(Bytes),
}

fn parse_lex(arg: &Bytes) -> Result<Lex, CommandError> {
    match arg.first() {
        Some(b'-') if arg.len() == 1 => Ok(Lex::Min),
        Some(b'+') if arg.len() == 1 => Ok(Lex::Max),
        Some(b'[') => Ok(Lex::Incl(arg.slice(1..))),
        Some(b'(') => Ok(Lex::Excl(arg.slice(1..))),
        _ => Err(CommandError::text(
            "ERR min or max not valid string range item",
        )),
    }
}

/// The range as walk bounds, or None when it holds nothing (min is `+`,
/// max is `-`, min above max, or equal ends with one excluded).
fn lex_bounds(min: &Lex, max: &Lex) -> Option<(Bound<Bytes>, Bound<Bytes>)> {
    let lo = match min {
        Lex::Min => Bound::Unbounded,
        Lex::Max => return None,
        Lex::Incl(k) => Bound::Included(k.clone()),
        Lex::Excl(k) => Bound::Excluded(k.clone()),
    };
    let hi = match max {
        Lex::Max => Bound::Unbounded,
        Lex::Min => return None,
        Lex::Incl(k) => Bound::Included(k.clone()),
        Lex::Excl(k) => Bound::Excluded(k.clone()),
    };
    let (a, b) = match (&lo, &hi) {
        (Bound::Included(a) | Bound::Excluded(a), Bound::Included(b) | Bound::Excluded(b)) => {
            (a, b)
        }
        _ => return Some((lo, hi)),
    };
    let both_inclusive = matches!((&lo, &hi), (Bound::Included(_), Bound::Included(_)));
    if a > b || (a == b && !both_inclusive) {
        return None;
    }
    Some((lo, hi))
}

/// `KEYRANGE min max [REV] [LIMIT offset count] [WITHVALUES]`
///
/// The live keys from `min` to `max` (ZRANGEBYLEX notation: `-`, `+`,
/// `[key` inclusive, `(key` exclusive), in byte order; REV reverses the
/// reply (min still comes first). LIMIT skips `offset` keys of the reply
/// and returns at most `count` (negative = all; a negative offset gives an
/// empty reply), as ZRANGEBYLEX does. WITHVALUES makes the reply a flat
/// `key, value, ...` array, one positioned read per value; a key deleted
/// between the walk and its read is left out.
pub(super) fn keyrange(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CommandError> {
    let mut reverse = false;
    let mut with_values = false;
    let mut offset: i64 = 0;
    let mut limit: i64 = -1;
    let mut i = 3;
    while i < args.len() {
        if is(&args[i], "rev") {
            reverse = true;
            i += 1;
        } else if is(&args[i], "withvalues") {
            with_values = true;
            i += 1;
        } else if is(&args[i], "limit") && i + 2 < args.len() {
            offset = parse_i64(&args[i + 1])?;
            limit = parse_i64(&args[i + 2])?;
            i += 3;
        } else {
            return Err(CommandError::Syntax);
        }
    }
    let (min, max) = (parse_lex(&args[1])?, parse_lex(&args[2])?);
    let Some((lo, hi)) = lex_bounds(&min, &max) else {
        return Ok(Reply::Array(Vec::new()));
    };
    if offset < 0 || limit == 0 {
        return Ok(Reply::Array(Vec::new()));
    }
    let mut skip = usize::try_from(offset).unwrap_or(usize::MAX);
    let want = usize::try_from(limit).unwrap_or(usize::MAX);
    let ks = &*ctx.ks;
    let mut keys: Vec<Bytes> = Vec::new();
    let (mut from, mut to) = (
        lo.as_ref().map(|b| b.to_vec()),
        hi.as_ref().map(|b| b.to_vec()),
    );
    'walk: loop {
        let page = walk(
            ks,
            borrowed(&from),
            borrowed(&to),
            reverse,
            SLICE,
            &mut |_| true,
        );
        for k in page.keys {
            if skip > 0 {
                skip -= 1;
            } else {
                keys.push(k);
                if keys.len() >= want {
                    break 'walk;
                }
            }
        }
        match page.resume {
            Some(last) if reverse => to = Bound::Excluded(last),
            Some(last) => from = Bound::Excluded(last),
            None => break,
        }
    }
    if !with_values {
        return Ok(Reply::bulks(keys));
    }
    let mut out = Vec::with_capacity(keys.len() * 2);
    for k in keys {
        if let Some(v) = ks.get(&k)? {
            out.push(Reply::Bulk(k));
            out.push(Reply::Bulk(v));
        }
    }
    Ok(Reply::Array(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lex_ranges_follow_zrangebylex() {
        let b = |s: &str| Bytes::from(s.to_owned());
        assert!(parse_lex(&b("a")).is_err());
        assert!(parse_lex(&b("+a")).is_err());
        assert!(parse_lex(&b("")).is_err());
        assert_eq!(parse_lex(&b("[")).ok(), Some(Lex::Incl(b(""))));
        assert_eq!(parse_lex(&b("(")).ok(), Some(Lex::Excl(b(""))));
        assert!(lex_bounds(&Lex::Max, &Lex::Max).is_none());
        assert!(lex_bounds(&Lex::Min, &Lex::Min).is_none());
        assert!(lex_bounds(&Lex::Incl(b("b")), &Lex::Incl(b("a"))).is_none());
        assert!(lex_bounds(&Lex::Incl(b("b")), &Lex::Excl(b("b"))).is_none());
        assert!(lex_bounds(&Lex::Excl(b("b")), &Lex::Incl(b("b"))).is_none());
        assert!(lex_bounds(&Lex::Incl(b("b")), &Lex::Incl(b("b"))).is_some());
        assert_eq!(
            lex_bounds(&Lex::Min, &Lex::Max),
            Some((Bound::Unbounded, Bound::Unbounded))
        );
    }
}
