//! bylaw's CEL function library (documented in `docs/cel-functions.md`):
//! container image references, Kubernetes quantities, glob matching,
//! semantic versions and IP networks. Declared on the [`Env`] like the
//! standard library, so calls are resolved once at compile time and a wrong
//! argument type is a clear evaluation error naming the function.
//!
//! All functions are global (`imageTag(c.image)`). Errors are CEL execution
//! errors; the engine reports them as `bylaw/eval-error` findings.

use cel::common::types::{CelBool, CelDouble, CelInt, CelMap, CelMapKey, CelString, CelUInt, DYN_TYPE, STRING_TYPE};
use cel::common::value::{CowVal, Val};
use cel::{DeclarationError, Env, ExecutionError};
use globset::{GlobBuilder, GlobMatcher};
use std::cell::RefCell;
use std::collections::HashMap;
use std::net::IpAddr;

type Res<'b, 'v> = Result<CowVal<'b, 'v>, ExecutionError>;

/// Registers every function of the library on `env`.
pub fn extension(env: &mut Env) -> Result<(), DeclarationError> {
    let s = || STRING_TYPE;
    env.add_overload("imageRegistry", "imageRegistry(string)", vec![s()], image_registry)?;
    env.add_overload("imageRepository", "imageRepository(string)", vec![s()], image_repository)?;
    env.add_overload("imageTag", "imageTag(string)", vec![s()], image_tag)?;
    env.add_overload("imageDigest", "imageDigest(string)", vec![s()], image_digest)?;
    env.add_overload("imageHasDigest", "imageHasDigest(string)", vec![s()], image_has_digest)?;
    env.add_overload("parseImage", "parseImage(string)", vec![s()], parse_image)?;
    env.add_overload("quantity", "quantity(dyn)", vec![DYN_TYPE], quantity)?;
    env.add_overload("quantityCompare", "quantityCompare(dyn,dyn)", vec![DYN_TYPE, DYN_TYPE], quantity_compare)?;
    env.add_overload("globMatch", "globMatch(string,string)", vec![s(), s()], glob_match)?;
    env.add_overload("semverCompare", "semverCompare(string,string)", vec![s(), s()], semver_compare)?;
    env.add_overload("semverSatisfies", "semverSatisfies(string,string)", vec![s(), s()], semver_satisfies)?;
    env.add_overload("cidrContains", "cidrContains(string,string)", vec![s(), s()], cidr_contains)?;
    env.add_overload("isCidr", "isCidr(string)", vec![s()], is_cidr)?;
    env.add_overload("ipIsPrivate", "ipIsPrivate(string)", vec![s()], ip_is_private)?;
    Ok(())
}

fn err(function: &str, message: impl ToString) -> ExecutionError {
    ExecutionError::function_error(function, message)
}

/// The `i`-th argument as a string.
fn str_arg<'a>(function: &str, args: &'a [CowVal<'_, '_>], i: usize) -> Result<&'a str, ExecutionError> {
    let v: &dyn Val = args.get(i).ok_or_else(|| ExecutionError::invalid_argument_count(i + 1, args.len()))?.as_ref();
    v.downcast_ref::<CelString>()
        .map(|s| s.inner())
        .ok_or_else(|| err(function, format!("expected a string argument, got {}", v.get_type().name())))
}

fn boolean<'b, 'v>(b: bool) -> Res<'b, 'v> {
    Ok(CowVal::owned(CelBool::from(b)))
}

fn ordering<'b, 'v>(o: std::cmp::Ordering) -> Res<'b, 'v> {
    Ok(CowVal::owned(CelInt::from(o as i64)))
}

// ---------------------------------------------------------------- images

/// The parts of an image reference (`[registry/]repository[:tag][@digest]`).
#[derive(Debug, PartialEq)]
pub struct ImageRef {
    pub registry: String,
    pub repository: String,
    pub tag: String,
    pub digest: String,
}

/// Parses an image reference with Docker's normalisation: no registry means
/// `docker.io`, and a one-part Docker Hub name gets `library/`. A first
/// component is a registry when it has a `.` or `:`, is `localhost`, or has
/// uppercase letters (as Docker decides).
pub fn parse_image_ref(s: &str) -> Result<ImageRef, String> {
    let invalid = |why: &str| format!("invalid image reference \"{s}\": {why}");
    if s.is_empty() {
        return Err(invalid("empty"));
    }
    let (name_tag, digest) = match s.split_once('@') {
        Some((n, d)) => {
            let (alg, hex) = d.split_once(':').ok_or_else(|| invalid("digest must be ALGORITHM:HEX"))?;
            let alg_ok = !alg.is_empty()
                && alg.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+.-_".contains(c));
            let hex_ok = hex.len() >= 32 && hex.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase());
            if !alg_ok || !hex_ok || (alg == "sha256" && hex.len() != 64) {
                return Err(invalid("malformed digest"));
            }
            (n, d.to_owned())
        }
        None => (s, String::new()),
    };
    let last_slash = name_tag.rfind('/').map(|i| i + 1).unwrap_or(0);
    let (name, tag) = match name_tag[last_slash..].rfind(':') {
        Some(i) => (&name_tag[..last_slash + i], name_tag[last_slash + i + 1..].to_owned()),
        None => (name_tag, String::new()),
    };
    if !tag.is_empty() || name_tag.ends_with(':') {
        let mut cs = tag.chars();
        let first_ok = cs.next().is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
        if !first_ok || tag.len() > 128 || !cs.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c)) {
            return Err(invalid("malformed tag"));
        }
    }
    let (registry, path) = match name.split_once('/') {
        Some((first, rest))
            if first.contains(['.', ':']) || first == "localhost" || first.chars().any(|c| c.is_ascii_uppercase()) =>
        {
            (first.to_owned(), rest.to_owned())
        }
        _ => ("docker.io".to_owned(), name.to_owned()),
    };
    if registry.is_empty()
        || !registry.chars().all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
        || registry.starts_with(['.', '-', ':'])
    {
        return Err(invalid("malformed registry"));
    }
    let component_ok = |c: &str| {
        !c.is_empty()
            && c.chars().all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || "._-".contains(ch))
            && c.starts_with(|ch: char| ch.is_ascii_alphanumeric())
            && c.ends_with(|ch: char| ch.is_ascii_alphanumeric())
    };
    if !path.split('/').all(component_ok) {
        return Err(invalid("repository must be lowercase letters, digits and separators (. _ -)"));
    }
    let repository = if registry == "docker.io" && !path.contains('/') { format!("library/{path}") } else { path };
    Ok(ImageRef { registry, repository, tag, digest })
}

fn image_part<'b, 'v>(function: &str, args: Vec<CowVal<'b, 'v>>, part: fn(ImageRef) -> CowVal<'b, 'v>) -> Res<'b, 'v> {
    let s = str_arg(function, &args, 0)?;
    parse_image_ref(s).map(part).map_err(|m| err(function, m))
}

fn image_registry<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Res<'b, 'v> {
    image_part("imageRegistry", args, |r| CowVal::owned(CelString::from(r.registry)))
}

fn image_repository<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Res<'b, 'v> {
    image_part("imageRepository", args, |r| CowVal::owned(CelString::from(r.repository)))
}

fn image_tag<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Res<'b, 'v> {
    image_part("imageTag", args, |r| CowVal::owned(CelString::from(r.tag)))
}

fn image_digest<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Res<'b, 'v> {
    image_part("imageDigest", args, |r| CowVal::owned(CelString::from(r.digest)))
}

fn image_has_digest<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Res<'b, 'v> {
    image_part("imageHasDigest", args, |r| CowVal::owned(CelBool::from(!r.digest.is_empty())))
}

fn parse_image<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Res<'b, 'v> {
    image_part("parseImage", args, |r| {
        let mut map: HashMap<CelMapKey<'v>, Box<dyn Val + 'v>> = HashMap::with_capacity(4);
        map.insert(CelMapKey::from("registry"), Box::new(CelString::from(r.registry)));
        map.insert(CelMapKey::from("repository"), Box::new(CelString::from(r.repository)));
        map.insert(CelMapKey::from("tag"), Box::new(CelString::from(r.tag)));
        map.insert(CelMapKey::from("digest"), Box::new(CelString::from(r.digest)));
        CowVal::owned(CelMap::from(map))
    })
}

// ------------------------------------------------------------ quantities

/// Parses a Kubernetes resource quantity (`500m`, `1.5`, `2Gi`, `1e3`, `128974848`).
pub fn parse_quantity(s: &str) -> Option<f64> {
    let s = s.trim();
    let num_end = s
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_digit() || c == '.' || ((c == '+' || c == '-') && i == 0)))
        .map(|(i, _)| i)
        .unwrap_or(s.len());
    let (num, suffix) = s.split_at(num_end);
    let digits = num.trim_start_matches(['+', '-']);
    if digits.is_empty() || digits == "." || digits.matches('.').count() > 1 {
        return None;
    }
    let value: f64 = num.parse().ok()?;
    let multiplier = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024f64,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        exp if exp.starts_with(['e', 'E']) => {
            let e = &exp[1..];
            let unsigned = e.trim_start_matches(['+', '-']);
            if unsigned.is_empty() || !unsigned.chars().all(|c| c.is_ascii_digit()) || e.len() - unsigned.len() > 1 {
                return None;
            }
            10f64.powi(e.parse::<i32>().ok()?)
        }
        _ => return None,
    };
    Some(value * multiplier)
}

/// A quantity argument: a string in quantity syntax, or a number as is.
fn quantity_arg(function: &str, v: &dyn Val) -> Result<f64, ExecutionError> {
    if let Some(s) = v.downcast_ref::<CelString>() {
        return parse_quantity(s.inner()).ok_or_else(|| {
            err(function, format!("invalid quantity \"{}\": expected e.g. 500m, 1.5, 2Gi, 512Mi, 1e3", s.inner()))
        });
    }
    if let Some(i) = v.downcast_ref::<CelInt>() {
        return Ok(*i.inner() as f64);
    }
    if let Some(u) = v.downcast_ref::<CelUInt>() {
        return Ok(*u.inner() as f64);
    }
    if let Some(d) = v.downcast_ref::<CelDouble>() {
        return Ok(*d.inner());
    }
    Err(err(function, format!("expected a quantity (string or number), got {}", v.get_type().name())))
}

fn quantity<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Res<'b, 'v> {
    let v = quantity_arg("quantity", args[0].as_ref())?;
    Ok(CowVal::owned(CelDouble::from(v)))
}

fn quantity_compare<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Res<'b, 'v> {
    let a = quantity_arg("quantityCompare", args[0].as_ref())?;
    let b = quantity_arg("quantityCompare", args[1].as_ref())?;
    ordering(a.partial_cmp(&b).unwrap_or(std::cmp::Ordering::Equal))
}

// ------------------------------------------------------------------ globs

/// Compiled globs kept per thread, like regexes in `cel_regex`.
const GLOB_CACHE_LIMIT: usize = 512;

thread_local! {
    static GLOBS: RefCell<HashMap<String, GlobMatcher>> = RefCell::new(HashMap::new());
}

/// Whether `path` matches the glob `pattern`: `*`, `?` and `[…]` stay within
/// one `/`-separated component; `**` crosses them; `{a,b}` alternates.
pub fn glob_is_match(pattern: &str, path: &str) -> Result<bool, String> {
    GLOBS.with(|cache| {
        let mut cache = cache.borrow_mut();
        if let Some(m) = cache.get(pattern) {
            return Ok(m.is_match(path));
        }
        let m = GlobBuilder::new(pattern)
            .literal_separator(true)
            .backslash_escape(true)
            .build()
            .map_err(|e| format!("invalid glob \"{pattern}\": {}", e.kind()))?
            .compile_matcher();
        let found = m.is_match(path);
        if cache.len() >= GLOB_CACHE_LIMIT {
            cache.clear();
        }
        cache.insert(pattern.to_owned(), m);
        Ok(found)
    })
}

fn glob_match<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Res<'b, 'v> {
    let pattern = str_arg("globMatch", &args, 0)?;
    let path = str_arg("globMatch", &args, 1)?;
    glob_is_match(pattern, path).map_err(|m| err("globMatch", m)).and_then(boolean)
}

// --------------------------------------------------------------- semver

/// Parses a version leniently: a leading `v` is dropped and a missing minor
/// or patch is 0 (`v1.2` → `1.2.0`).
pub fn parse_version(s: &str) -> Result<semver::Version, String> {
    let t = s.trim().trim_start_matches(['v', 'V']);
    let split = t.find(['-', '+']).unwrap_or(t.len());
    let (core, rest) = t.split_at(split);
    let padded = match core.split('.').count() {
        1 => format!("{core}.0.0{rest}"),
        2 => format!("{core}.0{rest}"),
        _ => t.to_owned(),
    };
    semver::Version::parse(&padded).map_err(|e| format!("invalid version \"{s}\": {e}"))
}

fn semver_compare<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Res<'b, 'v> {
    let a = parse_version(str_arg("semverCompare", &args, 0)?).map_err(|m| err("semverCompare", m))?;
    let b = parse_version(str_arg("semverCompare", &args, 1)?).map_err(|m| err("semverCompare", m))?;
    ordering(a.cmp_precedence(&b))
}

fn semver_satisfies<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Res<'b, 'v> {
    let v = parse_version(str_arg("semverSatisfies", &args, 0)?).map_err(|m| err("semverSatisfies", m))?;
    let r = str_arg("semverSatisfies", &args, 1)?;
    let req = semver::VersionReq::parse(r)
        .map_err(|e| err("semverSatisfies", format!("invalid version requirement \"{r}\": {e}")))?;
    boolean(req.matches(&v))
}

// ------------------------------------------------------------- networks

/// An IP network: address and prefix length.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cidr {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl Cidr {
    /// Parses `ADDR/PREFIX`; with `allow_host`, a bare address is a /32 or /128.
    pub fn parse(s: &str, allow_host: bool) -> Option<Cidr> {
        let (a, p) = match s.trim().split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None if allow_host => (s.trim(), None),
            None => return None,
        };
        let addr: IpAddr = a.parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            Some(p) if !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()) => p.parse::<u8>().ok()?,
            Some(_) => return None,
            None => max,
        };
        (prefix <= max).then_some(Cidr { addr, prefix })
    }

    fn bits(addr: IpAddr) -> (u128, u8) {
        match addr {
            IpAddr::V4(a) => (u32::from(a) as u128, 32),
            IpAddr::V6(a) => (u128::from(a), 128),
        }
    }

    /// Whether `other` (an address or a network) lies within this network.
    pub fn contains(&self, other: &Cidr) -> bool {
        let (net, width) = Self::bits(self.addr);
        let (ip, other_width) = Self::bits(other.addr);
        if width != other_width || other.prefix < self.prefix {
            return false;
        }
        let shift = (width - self.prefix) as u32;
        let mask = if shift >= 128 { 0 } else { (!0u128 << shift) & (!0u128 >> (128 - width as u32)) };
        net & mask == ip & mask
    }
}

fn cidr_contains<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Res<'b, 'v> {
    let c = str_arg("cidrContains", &args, 0)?;
    let o = str_arg("cidrContains", &args, 1)?;
    let net = Cidr::parse(c, false).ok_or_else(|| err("cidrContains", format!("invalid CIDR \"{c}\"")))?;
    let other =
        Cidr::parse(o, true).ok_or_else(|| err("cidrContains", format!("invalid IP address or CIDR \"{o}\"")))?;
    boolean(net.contains(&other))
}

fn is_cidr<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Res<'b, 'v> {
    boolean(Cidr::parse(str_arg("isCidr", &args, 0)?, false).is_some())
}

/// Private, loopback, link-local and shared (CGNAT) ranges.
const PRIVATE: &[&str] = &[
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "100.64.0.0/10",
    "::1/128",
    "fc00::/7",
    "fe80::/10",
];

/// Whether `ip` is in a private, loopback, link-local or shared range.
pub fn is_private_ip(ip: IpAddr) -> bool {
    let host = Cidr { addr: ip, prefix: if ip.is_ipv4() { 32 } else { 128 } };
    PRIVATE.iter().filter_map(|c| Cidr::parse(c, false)).any(|net| net.contains(&host))
}

fn ip_is_private<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Res<'b, 'v> {
    let s = str_arg("ipIsPrivate", &args, 0)?;
    let ip: IpAddr = s.trim().parse().map_err(|_| err("ipIsPrivate", format!("invalid IP address \"{s}\"")))?;
    boolean(is_private_ip(ip))
}

#[cfg(test)]
mod tests {
    use cel::Value;
    use std::sync::Arc;

    fn eval(src: &str) -> Result<Value, String> {
        let env = Arc::new(crate::language::cel::cel_env());
        let program = env.compile(src).map_err(|e| e.to_string())?;
        program.execute(&crate::language::cel::root_context(env)).map_err(|e| e.to_string())
    }

    fn t(src: &str) {
        assert_eq!(eval(src), Ok(Value::Bool(true)), "{src}");
    }

    fn fails(src: &str, message: &str) {
        let e = eval(src).expect_err(src);
        assert!(e.contains(message), "{src}: {e}");
    }

    #[test]
    fn image_references() {
        t("imageRegistry('nginx') == 'docker.io' && imageRepository('nginx') == 'library/nginx'");
        t("imageTag('nginx') == '' && imageTag('nginx:1.25') == '1.25' && imageTag('nginx:latest') == 'latest'");
        t("imageRegistry('ghcr.io/acme/api:2') == 'ghcr.io' && imageRepository('ghcr.io/acme/api:2') == 'acme/api'");
        t("imageRegistry('registry:5000/team/app:1.2') == 'registry:5000' && imageTag('registry:5000/team/app') == ''");
        t("imageRegistry('localhost/app') == 'localhost' && imageRepository('acme/app') == 'acme/app'");
        let digest = "sha256:".to_owned() + &"a".repeat(64);
        t(&format!("imageHasDigest('nginx@{digest}') && imageDigest('nginx@{digest}') == '{digest}'"));
        t(&format!("imageTag('nginx@{digest}') == '' && !imageHasDigest('nginx:1')"));
        t(&format!("parseImage('quay.io/a/b:3@{digest}') == {{'registry': 'quay.io', 'repository': 'a/b', 'tag': '3', 'digest': '{digest}'}}"));
        fails("imageTag('Foo:bar')", "invalid image reference \"Foo:bar\"");
        fails("imageTag('nginx:')", "malformed tag");
        fails("imageDigest('nginx@sha256:xyz')", "malformed digest");
        fails("imageTag('')", "empty");
        fails("imageTag(dyn(1))", "no matching overload for 'imageTag'");
    }

    #[test]
    fn quantities() {
        t("quantity('500m') == 0.5 && quantity('1.5') == 1.5 && quantity('2Gi') == 2147483648.0");
        t("quantity('512Mi') == 536870912.0 && quantity('1k') == 1000.0 && quantity('1e3') == 1000.0");
        t("quantity('1M') == 1000000.0 && quantity('1Ki') == 1024.0 && quantity(2) == 2.0 && quantity(0.25) == 0.25");
        t("quantity('100n') < quantity('1u') && quantity('-1') == -1.0 && quantity('.5') == 0.5");
        t("quantityCompare('1Gi', '1000Mi') == 1 && quantityCompare('500m', 0.5) == 0 && quantityCompare(1, '2') == -1");
        fails("quantity('lots')", "invalid quantity \"lots\"");
        fails("quantity('1Qi')", "invalid quantity");
        fails("quantity('1e')", "invalid quantity");
        fails("quantity(true)", "expected a quantity");
    }

    #[test]
    fn globs() {
        t("globMatch('*.yaml', 'a.yaml') && !globMatch('*.yaml', 'dir/a.yaml') && globMatch('**/*.yaml', 'dir/a.yaml')");
        t("globMatch('prod/{eu,us}/*', 'prod/eu/x') && globMatch('release-?', 'release-1')");
        fails("globMatch('[', 'x')", "invalid glob \"[\"");
    }

    #[test]
    fn semantic_versions() {
        t("semverCompare('1.2.3', '1.10.0') == -1 && semverCompare('v2.0.0', '2.0.0') == 0 && semverCompare('1.2', '1.1.9') == 1");
        t("semverCompare('1.0.0-rc.1', '1.0.0') == -1 && semverCompare('1.0.0+build', '1.0.0') == 0");
        t("semverSatisfies('1.4.2', '>=1.2, <2') && !semverSatisfies('v2.0', '^1') && semverSatisfies('1', '=1.0.0')");
        fails("semverCompare('one', '1.0.0')", "invalid version \"one\"");
        fails("semverSatisfies('1.0.0', '>>1')", "invalid version requirement \">>1\"");
    }

    #[test]
    fn networks() {
        t("cidrContains('10.0.0.0/8', '10.1.2.3') && !cidrContains('10.0.0.0/8', '11.0.0.1')");
        t("cidrContains('10.0.0.0/8', '10.2.0.0/16') && !cidrContains('10.2.0.0/16', '10.0.0.0/8')");
        t("cidrContains('0.0.0.0/0', '8.8.8.8') && cidrContains('2001:db8::/32', '2001:db8::1') && !cidrContains('2001:db8::/32', '10.0.0.1')");
        t("isCidr('192.168.0.0/16') && !isCidr('192.168.0.1') && !isCidr('10.0.0.0/33') && isCidr('::/0')");
        t("ipIsPrivate('10.3.4.5') && ipIsPrivate('172.20.0.1') && !ipIsPrivate('172.32.0.1') && ipIsPrivate('::1')");
        t("ipIsPrivate('fd12::1') && !ipIsPrivate('8.8.8.8') && !ipIsPrivate('2001:4860::8888') && ipIsPrivate('127.0.0.1')");
        fails("cidrContains('10.0.0.0', '10.0.0.1')", "invalid CIDR \"10.0.0.0\"");
        fails("cidrContains('10.0.0.0/8', 'host')", "invalid IP address or CIDR \"host\"");
        fails("ipIsPrivate('300.1.1.1')", "invalid IP address");
    }
}
