//! SET and the commands that are SET with fixed options (SETNX, SETEX,
//! PSETEX, GETSET), GETEX, MSET and MSETNX. Options are parsed as Redis's
//! `parseExtendedStringArgumentsOrReply` does: any conflict is a syntax
//! error, reported before an expiry value is even read; the expiry value
//! is checked later (`ExpireArg::resolve`), at the point where Redis
//! checks it, so error precedence matches.

use bytes::Bytes;

use super::{count_lookup, ttl_of, Ctx};
use crate::server::cmd::args::{is, name_of, parse_i64};
use crate::server::error::CommandError;
use crate::server::reply::Reply;

/// How an expiry option counts time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ExpireKind {
    /// `EX seconds`
    Ex,
    /// `PX milliseconds`
    Px,
    /// `EXAT unix-seconds`
    ExAt,
    /// `PXAT unix-milliseconds`
    PxAt,
}

impl ExpireKind {
    fn from_keyword(arg: &[u8]) -> Option<ExpireKind> {
        [
            ("EX", ExpireKind::Ex),
            ("PX", ExpireKind::Px),
            ("EXAT", ExpireKind::ExAt),
            ("PXAT", ExpireKind::PxAt),
        ]
        .into_iter()
        .find(|(k, _)| is(arg, k))
        .map(|(_, kind)| kind)
    }
}

/// An expiry option whose value is not checked yet.
#[derive(Debug, Clone)]
struct ExpireArg {
    kind: ExpireKind,
    value: Bytes,
}

impl ExpireArg {
    fn new(kind: ExpireKind, value: &Bytes) -> Self {
        ExpireArg {
            kind,
            value: value.clone(),
        }
    }

    /// True for EXAT/PXAT.
    fn absolute(&self) -> bool {
        matches!(self.kind, ExpireKind::ExAt | ExpireKind::PxAt)
    }

    /// The absolute expiry in ms, as Redis's `getExpireMillisecondsOrReply`
    /// computes it: not an integer → `ERR value is not an integer...`;
    /// zero, negative, or overflowing once converted to an absolute time
    /// in ms → `ERR invalid expire time in '<cmd>' command`.
    fn resolve(&self, now_ms: u64, cmd: &str) -> Result<u64, CommandError> {
        let n = parse_i64(&self.value)?;
        let invalid = || CommandError::InvalidExpire(cmd.to_string());
        let seconds = matches!(self.kind, ExpireKind::Ex | ExpireKind::ExAt);
        if n <= 0 || (seconds && n > i64::MAX / 1000) {
            return Err(invalid());
        }
        let ms = if seconds { n * 1000 } else { n };
        let at = if self.absolute() {
            ms
        } else {
            let now = i64::try_from(now_ms).map_err(|_| invalid())?;
            ms.checked_add(now).ok_or_else(invalid)?
        };
        Ok(at as u64)
    }
}

/// The options after SET's value or GETEX's key.
#[derive(Debug, Default)]
struct Options {
    nx: bool,
    xx: bool,
    get: bool,
    keepttl: bool,
    persist: bool,
    expire: Option<ExpireArg>,
}

/// Which option set is being parsed.
#[derive(Clone, Copy, PartialEq, Eq)]
enum For {
    Set,
    GetEx,
}

impl Options {
    /// Redis accepts repeats of the same option (`NX NX`, `EX 1 EX 2`: the
    /// last value wins) but no two conflicting ones.
    fn parse(args: &[Bytes], cmd: For) -> Result<Options, CommandError> {
        let mut o = Options::default();
        let mut i = 0;
        while i < args.len() {
            let arg = &args[i];
            let set = cmd == For::Set;
            let expire_kind = o.expire.as_ref().map(|e| e.kind);
            if set && is(arg, "NX") && !o.xx {
                o.nx = true;
            } else if set && is(arg, "XX") && !o.nx {
                o.xx = true;
            } else if set && is(arg, "GET") {
                o.get = true;
            } else if set && is(arg, "KEEPTTL") && expire_kind.is_none() {
                o.keepttl = true;
            } else if !set && is(arg, "PERSIST") && expire_kind.is_none() {
                o.persist = true;
            } else if let (Some(kind), Some(value)) =
                (ExpireKind::from_keyword(arg), args.get(i + 1))
            {
                if o.keepttl || o.persist || expire_kind.is_some_and(|k| k != kind) {
                    return Err(CommandError::Syntax);
                }
                o.expire = Some(ExpireArg::new(kind, value));
                i += 1;
            } else {
                return Err(CommandError::Syntax);
            }
            i += 1;
        }
        Ok(o)
    }
}

/// When a SET writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cond {
    Always,
    IfAbsent,
    IfPresent,
}

/// What a SET does to the TTL.
#[derive(Debug, Clone)]
enum Ttl {
    Clear,
    Keep,
    Expire(ExpireArg),
}

/// `SET key value [NX | XX] [GET] [EX s | PX ms | EXAT ts | PXAT ms-ts |
/// KEEPTTL]`, also the engine of SETNX, SETEX, PSETEX and GETSET.
struct Set {
    key: Bytes,
    value: Bytes,
    cond: Cond,
    get: bool,
    ttl: Ttl,
}

/// What a SET did.
struct SetOutcome {
    written: bool,
    /// The previous value, when GET asked for it.
    old: Option<Bytes>,
}

impl Set {
    fn plain(args: &[Bytes], cond: Cond, get: bool, ttl: Ttl) -> Set {
        Set {
            key: args[1].clone(),
            value: args[args.len() - 1].clone(),
            cond,
            get,
            ttl,
        }
    }

    fn parse(args: &[Bytes]) -> Result<Set, CommandError> {
        let o = Options::parse(&args[3..], For::Set)?;
        let cond = match (o.nx, o.xx) {
            (true, _) => Cond::IfAbsent,
            (_, true) => Cond::IfPresent,
            _ => Cond::Always,
        };
        let ttl = match (o.expire, o.keepttl) {
            (Some(e), _) => Ttl::Expire(e),
            (None, true) => Ttl::Keep,
            (None, false) => Ttl::Clear,
        };
        Ok(Set {
            key: args[1].clone(),
            value: args[2].clone(),
            cond,
            get: o.get,
            ttl,
        })
    }

    /// Redis's `setGenericCommand`: the expiry is checked first, then GET
    /// reads (a counted lookup), then NX/XX decide.
    fn execute(self, ctx: &mut Ctx<'_>, cmd: &str) -> Result<SetOutcome, CommandError> {
        let expires_at = match &self.ttl {
            Ttl::Expire(e) => Some(e.resolve(ctx.ks.now_ms(), cmd)?),
            Ttl::Clear | Ttl::Keep => None,
        };
        let (meta, old) = if self.get {
            let current = ctx.ks.get_with_meta(&self.key)?;
            count_lookup(ctx, current.is_some());
            match current {
                Some((v, loc)) => (Some(loc), Some(v)),
                None => (None, None),
            }
        } else if self.cond == Cond::Always && !matches!(self.ttl, Ttl::Keep) {
            // A plain overwrite needs nothing from the old key.
            (None, None)
        } else {
            (ctx.ks.meta(&self.key), None)
        };
        let skip = match self.cond {
            Cond::Always => false,
            Cond::IfAbsent => meta.is_some(),
            Cond::IfPresent => meta.is_none(),
        };
        if skip {
            return Ok(SetOutcome {
                written: false,
                old,
            });
        }
        let expires_at = match self.ttl {
            Ttl::Keep => meta.as_ref().and_then(ttl_of),
            Ttl::Clear | Ttl::Expire(_) => expires_at,
        };
        ctx.ks.put(&self.key, &self.value, expires_at)?;
        Ok(SetOutcome { written: true, old })
    }
}

/// `SET key value [options]`: OK, or null when NX/XX skipped it; with GET,
/// the old value (or null) either way.
pub fn set(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CommandError> {
    let cmd = Set::parse(args)?;
    let get = cmd.get;
    let out = cmd.execute(ctx, "set")?;
    Ok(match (get, out.written) {
        (true, _) => out.old.map_or(Reply::Null, Reply::Bulk),
        (false, true) => Reply::Ok,
        (false, false) => Reply::Null,
    })
}

/// `SETNX key value`: 1 if set, 0 if the key existed.
pub fn setnx(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CommandError> {
    let out = Set::plain(args, Cond::IfAbsent, false, Ttl::Clear).execute(ctx, "setnx")?;
    Ok(Reply::Int(i64::from(out.written)))
}

/// `SETEX key seconds value`
pub fn setex(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CommandError> {
    let ttl = Ttl::Expire(ExpireArg::new(ExpireKind::Ex, &args[2]));
    Set::plain(args, Cond::Always, false, ttl).execute(ctx, "setex")?;
    Ok(Reply::Ok)
}

/// `PSETEX key milliseconds value`
pub fn psetex(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CommandError> {
    let ttl = Ttl::Expire(ExpireArg::new(ExpireKind::Px, &args[2]));
    Set::plain(args, Cond::Always, false, ttl).execute(ctx, "psetex")?;
    Ok(Reply::Ok)
}

/// `GETSET key value`: the old value; the TTL is cleared.
pub fn getset(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CommandError> {
    let out = Set::plain(args, Cond::Always, true, Ttl::Clear).execute(ctx, "getset")?;
    Ok(out.old.map_or(Reply::Null, Reply::Bulk))
}

/// `GETEX key [EX s | PX ms | EXAT ts | PXAT ms-ts | PERSIST]`. As in
/// Redis, a missing key answers null before the expiry value is checked,
/// and EXAT/PXAT in the past delete the key.
pub fn getex(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CommandError> {
    let o = Options::parse(&args[2..], For::GetEx)?;
    let key = &args[1];
    let current = ctx.ks.get_with_meta(key)?;
    count_lookup(ctx, current.is_some());
    let Some((value, loc)) = current else {
        return Ok(Reply::Null);
    };
    let now = ctx.ks.now_ms();
    if let Some(e) = &o.expire {
        let at = e.resolve(now, "getex")?;
        if e.absolute() && at <= now {
            ctx.ks.delete(key)?;
        } else {
            // The expiry lives in the record: rewrite it with the value
            // already in hand rather than read it again.
            ctx.ks.put(key, &value, Some(at))?;
        }
    } else if o.persist && loc.expires_at != 0 {
        ctx.ks.put(key, &value, None)?;
    }
    Ok(Reply::Bulk(value))
}

/// `MSET key value [key value ...]`: one transaction, so readers see all
/// of it or none; TTLs are cleared.
pub fn mset(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CommandError> {
    let pairs = pairs(args)?;
    for (k, v) in pairs {
        ctx.ks.put(k, v, None)?;
    }
    Ok(Reply::Ok)
}

/// `MSETNX key value [key value ...]`: 1 and all set if none of the keys
/// exists, else 0 and nothing set.
pub fn msetnx(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CommandError> {
    let pairs = pairs(args)?;
    if pairs.iter().any(|(k, _)| ctx.ks.meta(k).is_some()) {
        return Ok(Reply::Int(0));
    }
    for (k, v) in pairs {
        ctx.ks.put(k, v, None)?;
    }
    Ok(Reply::Int(1))
}

/// The key/value pairs of MSET/MSETNX; an odd count is an arity error.
fn pairs(args: &[Bytes]) -> Result<Vec<(&Bytes, &Bytes)>, CommandError> {
    if args.len().is_multiple_of(2) {
        return Err(CommandError::WrongArity(name_of(args)));
    }
    Ok(args[1..].chunks_exact(2).map(|p| (&p[0], &p[1])).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<Bytes> {
        s.split_whitespace()
            .map(|w| Bytes::copy_from_slice(w.as_bytes()))
            .collect()
    }

    fn parse_set(s: &str) -> Result<Options, CommandError> {
        Options::parse(&words(s), For::Set)
    }

    #[test]
    fn set_option_conflicts_are_syntax_errors() {
        for bad in [
            "NX XX",
            "XX NX",
            "EX 10 PX 100",
            "EX",
            "KEEPTTL EX 10",
            "EX 10 KEEPTTL",
            "PERSIST",
            "PX 10 EXAT 100",
            "EXAT 1 PXAT 1",
            "FOO",
        ] {
            assert!(matches!(parse_set(bad), Err(CommandError::Syntax)), "{bad}");
        }
        for good in [
            "NX NX",
            "xx xx",
            "GET GET",
            "keepttl keepttl",
            "ex 10 get",
            "EX 10 EX 20",
            "NX GET",
            "get keepttl",
            "EX abc",
        ] {
            assert!(parse_set(good).is_ok(), "{good}");
        }
        let o = parse_set("EX 10 EX 20").expect("parses");
        assert_eq!(o.expire.map(|e| e.value), Some(Bytes::from_static(b"20")));
    }

    #[test]
    fn getex_accepts_only_expiry_options() {
        for bad in [
            "NX",
            "XX",
            "GET",
            "KEEPTTL",
            "PERSIST EX 10",
            "EX 10 PERSIST",
            "PX 5 EX 1",
        ] {
            assert!(Options::parse(&words(bad), For::GetEx).is_err(), "{bad}");
        }
        for good in ["PERSIST", "persist persist", "EX 10 EX 20", "PXAT 1"] {
            assert!(Options::parse(&words(good), For::GetEx).is_ok(), "{good}");
        }
    }

    #[test]
    fn expire_values_follow_redis_limits() {
        let now = 1_700_000_000_000u64;
        let resolve =
            |kind, v: &str| ExpireArg::new(kind, &Bytes::from(v.to_string())).resolve(now, "set");
        assert_eq!(resolve(ExpireKind::Ex, "10").ok(), Some(now + 10_000));
        assert_eq!(resolve(ExpireKind::Px, "10").ok(), Some(now + 10));
        assert_eq!(resolve(ExpireKind::ExAt, "5").ok(), Some(5000));
        assert_eq!(resolve(ExpireKind::PxAt, "1").ok(), Some(1));
        assert_eq!(
            resolve(ExpireKind::PxAt, "9223372036854775807").ok(),
            Some(i64::MAX as u64)
        );
        assert!(resolve(ExpireKind::Ex, "9223372036853").is_ok());
        assert!(resolve(ExpireKind::ExAt, "9223372036854775").is_ok());
        for (kind, v) in [
            (ExpireKind::Ex, "0"),
            (ExpireKind::Ex, "-1"),
            (ExpireKind::Ex, "9223372036854775807"),
            (ExpireKind::Ex, "9223372036854775"),
            (ExpireKind::Px, "9223372036854775807"),
            (ExpireKind::Px, "9223372036854000000"),
            (ExpireKind::ExAt, "0"),
            (ExpireKind::PxAt, "-5"),
        ] {
            assert!(
                matches!(resolve(kind, v), Err(CommandError::InvalidExpire(_))),
                "{kind:?} {v}"
            );
        }
        for v in ["abc", "1.5", "01", "+1", ""] {
            assert!(matches!(
                resolve(ExpireKind::Ex, v),
                Err(CommandError::NotInteger)
            ));
        }
    }
}
