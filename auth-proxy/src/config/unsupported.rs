//! Aperture keys that would change what is charged, who is admitted, or that promise a feature this proxy does
//! not have. Set to anything but their "off" value they make the proxy refuse to start, naming the key.
//!
//! Aperture reads its YAML into Go structs, so a key that is absent and a key set to its zero value (`false`,
//! `""`, `0`, an empty section) mean the same thing there: off. Such a key is accepted here too (and reported
//! as having no effect, see `file::APERTURE_KEYS_IGNORED`). Harmless tuning keys (`invoicebatchsize`,
//! `profile`, `logging`, …) are not listed here: they stay accepted with a note.

use serde_yaml_ng::Value;

use super::ConfigError;

/// When a refused key counts as off.
#[derive(Clone, Copy)]
enum Off {
    /// Its zero value: absent, `null`, `false`, `0`, `""`, or a section whose every entry is zero.
    Zero,
    /// Zero, or exactly this string (Aperture's default, which means "off" as well).
    ZeroOr(&'static str),
    /// Zero, or exactly this integer (Aperture's default, which only matters with the feature on).
    ZeroOrInt(i64),
    /// Absent, or this Go duration (Aperture's default); anything else has no counterpart here.
    DefaultDuration(&'static str),
}

/// `(key pattern, when it is off, why it is refused)`; `[]` stands for any index of a list.
const REFUSED: &[(&str, Off, &str)] = &[
    (
        "autocert",
        Off::Zero,
        "Let's Encrypt certificates are not implemented; serve your own with tlscertpath/tlskeypath",
    ),
    (
        "servestatic",
        Off::Zero,
        "serving static files is not implemented",
    ),
    ("tor.v3", Off::Zero, "Tor onion services are not implemented"),
    (
        "hashmail.enabled",
        Off::Zero,
        "the Lightning Node Connect mailbox server is not implemented",
    ),
    (
        "readtimeout",
        Off::DefaultDuration("15s"),
        "only Aperture's default (15s) is accepted; the limits here are connections.requestheadtimeout and connections.bodytimeout",
    ),
    (
        "writetimeout",
        Off::DefaultDuration("30s"),
        "only Aperture's default (30s) is accepted; responses have no write deadline here",
    ),
    (
        "authenticator.passphrase",
        Off::Zero,
        "Lightning Node Connect (LNC) is not implemented; connect to lnd with lndhost, tlspath and macdir",
    ),
    (
        "authenticator.mailboxaddress",
        Off::Zero,
        "Lightning Node Connect (LNC) is not implemented; connect to lnd with lndhost, tlspath and macdir",
    ),
    (
        "authenticator.devserver",
        Off::Zero,
        "Lightning Node Connect (LNC) is not implemented; connect to lnd with lndhost, tlspath and macdir",
    ),
    (
        "authenticator.enablempp",
        Off::Zero,
        "the Payment authentication scheme (MPP) is not implemented",
    ),
    (
        "authenticator.mpprealm",
        Off::Zero,
        "the Payment authentication scheme (MPP) is not implemented",
    ),
    (
        "authenticator.enablesessions",
        Off::Zero,
        "MPP sessions are not implemented",
    ),
    (
        "authenticator.sessiondepositmultiplier",
        Off::ZeroOrInt(20),
        "MPP sessions are not implemented",
    ),
    (
        "authenticator.sessionidletimeout",
        Off::ZeroOrInt(300),
        "MPP sessions are not implemented",
    ),
    (
        "authenticator.wavelengthgateway",
        Off::Zero,
        "minting invoices from a Wavelength wallet is not implemented; connect to lnd with lndhost",
    ),
    (
        "authenticator.wavelengthmacaroonpath",
        Off::Zero,
        "minting invoices from a Wavelength wallet is not implemented; connect to lnd with lndhost",
    ),
    (
        "services[].rewrite",
        Off::Zero,
        "rewriting the request path is not implemented",
    ),
    (
        "services[].authscheme",
        Off::ZeroOr("l402"),
        "only the l402 scheme is implemented (mpp is not)",
    ),
];

/// Refuses the first refused key of `text` that is not off. `text` has already parsed as a config.
pub(super) fn check(text: &str) -> Result<(), ConfigError> {
    let root: Value = match serde_yaml_ng::from_str(text) {
        Ok(value) => value,
        // `file::parse` reports syntax errors with their key; nothing to check in an unparsable file.
        Err(_) => return Ok(()),
    };
    for (pattern, off, why) in REFUSED {
        for (key, value) in lookup(&root, pattern) {
            if !is_off(value, *off) {
                return Err(ConfigError::Unsupported {
                    key,
                    reason: (*why).to_owned(),
                });
            }
        }
    }
    check_etcd(&root)
}

/// Aperture stores its data in etcd when `dbbackend` is not set; an `etcd` section with values and no
/// `dbbackend` is therefore an etcd deployment, which this proxy would silently turn into a SQLite one.
fn check_etcd(root: &Value) -> Result<(), ConfigError> {
    let backend_set = root.get("dbbackend").is_some_and(|v| !is_zero(v));
    match root.get("etcd") {
        Some(etcd) if !backend_set && !is_zero(etcd) => Err(ConfigError::Unsupported {
            key: "etcd".into(),
            reason:
                "etcd storage is not implemented (Aperture uses etcd when dbbackend is not set); \
                     set dbbackend: sqlite or postgres"
                    .into(),
        }),
        _ => Ok(()),
    }
}

/// The values at `pattern` (`services[].rewrite`), each with its concrete key (`services[2].rewrite`).
fn lookup<'a>(root: &'a Value, pattern: &str) -> Vec<(String, &'a Value)> {
    let mut found = vec![(String::new(), root)];
    for part in pattern.split('.') {
        let (name, each) = match part.strip_suffix("[]") {
            Some(name) => (name, true),
            None => (part, false),
        };
        let mut next = Vec::new();
        for (prefix, value) in found {
            let Some(child) = value.get(name) else {
                continue;
            };
            let key = if prefix.is_empty() {
                name.to_owned()
            } else {
                format!("{prefix}.{name}")
            };
            match (each, child) {
                (true, Value::Sequence(items)) => next.extend(
                    items
                        .iter()
                        .enumerate()
                        .map(|(i, item)| (format!("{key}[{i}]"), item)),
                ),
                (true, _) => {}
                (false, child) => next.push((key, child)),
            }
        }
        found = next;
    }
    found
}

fn is_zero(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Sequence(items) => items.is_empty(),
        Value::Mapping(map) => map.values().all(is_zero),
        Value::Tagged(tagged) => is_zero(&tagged.value),
    }
}

fn is_off(value: &Value, off: Off) -> bool {
    match off {
        Off::Zero => is_zero(value),
        Off::ZeroOr(default) => is_zero(value) || value.as_str() == Some(default),
        Off::ZeroOrInt(default) => is_zero(value) || value.as_i64() == Some(default),
        Off::DefaultDuration(default) => {
            let wanted = service_kit::go_duration::parse(default);
            let given = match value {
                Value::String(text) => service_kit::go_duration::parse(text.trim()),
                Value::Number(n) => n.as_u64().map(std::time::Duration::from_nanos),
                _ => None,
            };
            given.is_some() && given == wanted
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(text: &str) -> Option<String> {
        match check(text) {
            Ok(()) => None,
            Err(ConfigError::Unsupported { key, .. }) => Some(key),
            Err(other) => panic!("unexpected error {other}"),
        }
    }

    #[test]
    fn zero_values_are_accepted() {
        let text = "autocert: false\nservestatic: false\nstaticroot: ./static\n\
                    tor:\n  control: 'localhost:9051'\n  listenport: 8082\n  v3: false\n\
                    hashmail:\n  enabled: false\n  messagerate: 20ms\n\
                    readtimeout: 15s\nwritetimeout: 30s\n\
                    authenticator:\n  passphrase: ''\n  devserver: false\n  enablempp: false\n  \
                    sessiondepositmultiplier: 20\n  sessionidletimeout: 300\n\
                    dbbackend: sqlite\netcd:\n  host: 'localhost:2379'\n\
                    services:\n  - name: a\n    authscheme: l402\n    rewrite:\n      prefix: ''\n";
        assert_eq!(refused(text), None);
    }

    #[test]
    fn each_refused_key_is_named() {
        for (text, key) in [
            ("autocert: true\n", "autocert"),
            ("servestatic: true\n", "servestatic"),
            ("tor:\n  v3: true\n", "tor.v3"),
            ("hashmail:\n  enabled: true\n", "hashmail.enabled"),
            ("readtimeout: 1m\n", "readtimeout"),
            ("writetimeout: 0s\n", "writetimeout"),
            (
                "authenticator:\n  passphrase: 'words'\n",
                "authenticator.passphrase",
            ),
            (
                "authenticator:\n  mailboxaddress: 'x:443'\n",
                "authenticator.mailboxaddress",
            ),
            (
                "authenticator:\n  devserver: true\n",
                "authenticator.devserver",
            ),
            (
                "authenticator:\n  enablempp: true\n",
                "authenticator.enablempp",
            ),
            ("authenticator:\n  mpprealm: r\n", "authenticator.mpprealm"),
            (
                "authenticator:\n  enablesessions: true\n",
                "authenticator.enablesessions",
            ),
            (
                "authenticator:\n  sessiondepositmultiplier: 5\n",
                "authenticator.sessiondepositmultiplier",
            ),
            (
                "authenticator:\n  sessionidletimeout: 60\n",
                "authenticator.sessionidletimeout",
            ),
            (
                "authenticator:\n  wavelengthgateway: 'http://w'\n",
                "authenticator.wavelengthgateway",
            ),
            (
                "authenticator:\n  wavelengthmacaroonpath: '/m'\n",
                "authenticator.wavelengthmacaroonpath",
            ),
            ("etcd:\n  host: 'localhost:2379'\n", "etcd"),
            (
                "services:\n  - name: a\n  - name: b\n    rewrite:\n      prefix: /v1\n",
                "services[1].rewrite",
            ),
            (
                "services:\n  - name: a\n    authscheme: l402+mpp\n",
                "services[0].authscheme",
            ),
        ] {
            assert_eq!(refused(text).as_deref(), Some(key), "{text}");
        }
    }

    #[test]
    fn go_durations_compare_by_value() {
        assert_eq!(
            refused("readtimeout: 15000ms\nwritetimeout: 30000000000\n"),
            None
        );
        assert_eq!(refused("readtimeout: 0.25m\n"), None);
    }
}
