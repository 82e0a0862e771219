//! Configuration tests: defaults, overrides, key-naming errors, the sample file and an Aperture file.

use std::path::Path;

use super::*;
use crate::service::{AuthLevel, UpstreamProtocol};

const MINIMAL: &str = "
authenticator:
  lndhost: 127.0.0.1:10010
  tlspath: /tmp/lnd/tls.cert
  macdir: /tmp/lnd
basedir: /tmp/ap
services:
  - name: loop
    hostregexp: '.*'
    pathregexp: '^/looprpc.*$'
    address: 127.0.0.1:11009
    protocol: http
";

#[test]
fn defaults_follow_aperture() {
    let config = Config::from_yaml(MINIMAL, &Overrides::default()).unwrap();
    assert_eq!(config.listen_addr, DEFAULT_LISTEN_ADDR);
    assert_eq!(config.services[0].price_sat, 1, "price 0 means 1 sat");
    assert_eq!(config.services[0].auth, AuthLevel::On);
    assert!(
        matches!(config.database, DatabaseConfig::Sqlite { ref path, .. } if path == Path::new("/tmp/ap/aperture.db"))
    );
    assert_eq!(
        config.tls,
        TlsSource::SelfSigned {
            cert: "/tmp/ap/tls.cert".into(),
            key: "/tmp/ap/tls.key".into()
        }
    );
    let lnd = config.authenticator.lnd.unwrap();
    assert_eq!(lnd.macaroon_path, Path::new("/tmp/lnd/invoice.macaroon"));
}

#[test]
fn overrides_beat_the_file() {
    let overrides = Overrides {
        listen_addr: Some("127.0.0.1:1".into()),
        insecure: Some(true),
        lnd_host: Some("10.0.0.1:1".into()),
        ..Overrides::default()
    };
    let config = Config::from_yaml(MINIMAL, &overrides).unwrap();
    assert_eq!(config.listen_addr, "127.0.0.1:1");
    assert_eq!(config.tls, TlsSource::Insecure);
    assert_eq!(config.authenticator.lnd.unwrap().host, "10.0.0.1:1");
}

#[test]
fn a_backend_address_that_is_not_host_port_names_its_key() {
    // Such an address once made the forwarded URI fail to build, and the client's own URI was used.
    let yaml = MINIMAL.replace(
        "address: 127.0.0.1:11009",
        "address: http://127.0.0.1:11009/x",
    );
    let err = Config::from_yaml(&yaml, &Overrides::default()).unwrap_err();
    assert!(err.to_string().contains("services[0].address"), "{err}");
}

#[test]
fn bad_regex_names_its_key() {
    let text = MINIMAL.replace("'^/looprpc.*$'", "'^/(unclosed'");
    let err = Config::from_yaml(&text, &Overrides::default()).unwrap_err();
    assert_eq!(err.key(), Some("services[0].pathregexp"));
}

#[test]
fn missing_lnd_host_is_reported() {
    let err = Config::from_yaml("services: []\n", &Overrides::default()).unwrap_err();
    assert_eq!(err.key(), Some("authenticator.lndhost"));
}

#[test]
fn postgres_password_is_never_printed() {
    let text = format!(
        "{MINIMAL}dbbackend: postgres\npostgres:\n  host: db\n  user: u\n  password: hunter2\n  dbname: d\n  requireSSL: true\n"
    );
    let config = Config::from_yaml(&text, &Overrides::default()).unwrap();
    let printed = format!("{config:?}");
    assert!(!printed.contains("hunter2"), "{printed}");
    assert!(
        matches!(config.database, DatabaseConfig::Postgres(ref pg) if pg.require_ssl && pg.port == 5432)
    );
}

#[test]
fn rate_limits_and_capability_rules_are_validated() {
    let text = format!("{MINIMAL}    ratelimits:\n      - requests: 0\n        per: 1s\n");
    let err = Config::from_yaml(&text, &Overrides::default()).unwrap_err();
    assert_eq!(err.key(), Some("services[0].ratelimits[0].requests"));
    let text = format!("{MINIMAL}    capabilityrules:\n      - pathregexp: '^/x'\n");
    let err = Config::from_yaml(&text, &Overrides::default()).unwrap_err();
    assert_eq!(err.key(), Some("services[0].capabilityrules[0].capability"));
}

#[test]
fn the_sample_config_is_valid_and_fully_supported() {
    let config = Config::from_yaml(
        include_str!("../../sample-conf.yaml"),
        &Overrides::default(),
    )
    .unwrap();
    assert!(
        config.ignored_aperture_keys.is_empty(),
        "{:?}",
        config.ignored_aperture_keys
    );
    assert_eq!(config.services[0].price_sat, 1000);
    assert_eq!(
        config.services[0].required_capability("/looprpc.SwapServer/NewLoopOutSwap"),
        Some("loop_out")
    );
    assert_eq!(
        config.services[0].required_capability("/looprpc.SwapServer/LoopOutQuote"),
        None
    );
}

#[test]
fn an_aperture_file_works_and_its_unsupported_keys_are_reported() {
    let text = "
listenaddr: 'localhost:8081'
staticroot: './static'
servestatic: false
debuglevel: debug
autocert: false
servername: aperture.example.com
insecure: true
strictverify: false
invoicebatchsize: 100000
idletimeout: 3m
readtimeout: 15s
authenticator:
  network: simnet
  disable: false
  lndhost: 'localhost:10009'
  tlspath: '/path/to/lnd/tls.cert'
  macdir: '/path/to/lnd/data/chain/bitcoin/simnet'
blocklist: ['1.1.1.1']
dbbackend: sqlite
sqlite:
  dbfile: '/path/to/.aperture/aperture.db'
  skipmigrations: false
etcd:
  host: 'localhost:2379'
tor:
  control: 'localhost:9051'
  listenport: 8082
  v3: false
services:
  - name: service1
    hostregexp: '^service1.com$'
    pathregexp: '^/.*$'
    address: '127.0.0.1:10009'
    protocol: https
    tlscertpath: 'path-to-optional-tls-cert/tls.cert'
    capabilities: 'add,subtract'
    constraints:
      'valid_until': 1682483169
    timeout: 31557600
    price: 0
    authwhitelistpaths: ['^/freebieservice.*$']
    authskipinvoicecreationpaths: ['^/streamingservice.*$']
    ratelimits:
      - pathregexp: '^/looprpc.SwapServer/LoopOutTerms.*$'
        requests: 5
        per: 1s
        burst: 100
    dynamicprice:
      enabled: false
prometheus:
  enabled: true
  listenaddr: 'localhost:9000'
";
    let config = Config::from_yaml(text, &Overrides::default()).unwrap();
    assert_eq!(
        config.ignored_aperture_keys,
        [
            "staticroot",
            "servestatic",
            "autocert",
            "invoicebatchsize",
            "readtimeout",
            "etcd",
            "tor",
        ]
    );
    assert_eq!(config.debug_level.as_deref(), Some("debug"));
    assert_eq!(config.connections.idle_timeout, Duration::from_secs(180));
    assert_eq!(config.server_name.as_deref(), Some("aperture.example.com"));
    let service = &config.services[0];
    assert_eq!(
        service.constraints,
        [("valid_until".to_owned(), "1682483169".to_owned())]
    );
    assert_eq!(
        (service.price_sat, service.protocol),
        (1, UpstreamProtocol::Https)
    );
    assert!(service.matches("service1.com", "/anything"));
    assert!(!service.matches("service2.com", "/anything"));
    assert!(service.dynamic_price.is_none());
    assert_eq!(
        config.prometheus_listen_addr.as_deref(),
        Some("localhost:9000")
    );
}

#[test]
fn blocklist_entries_must_be_addresses() {
    let err = Config::from_yaml(
        &format!("{MINIMAL}blocklist: ['1.1.1.1', 'nope']\n"),
        &Overrides::default(),
    )
    .unwrap_err();
    assert_eq!(err.key(), Some("blocklist[1]"));
    let config = Config::from_yaml(
        &format!("{MINIMAL}blocklist: ['1.1.1.1', '::1']\n"),
        &Overrides::default(),
    )
    .unwrap();
    assert_eq!(config.blocklist.len(), 2);
}

#[test]
fn unknown_backend_is_named() {
    let err = Config::from_yaml(
        &format!("{MINIMAL}dbbackend: etcd\n"),
        &Overrides::default(),
    )
    .unwrap_err();
    assert_eq!(err.key(), Some("dbbackend"));
}

fn with_dynamic_price(section: &str) -> Result<Config, ConfigError> {
    Config::from_yaml(
        &format!("{MINIMAL}  - name: a\n    address: '127.0.0.1:1'\n    dynamicprice:\n{section}"),
        &Overrides::default(),
    )
}

#[test]
fn dynamic_price_enabled_without_address_names_grpcaddress() {
    let err = with_dynamic_price("      enabled: true\n      insecure: true\n").unwrap_err();
    assert_eq!(
        err.key(),
        Some("services[1].dynamicprice.grpcaddress"),
        "{err}"
    );
}

#[test]
fn dynamic_price_over_tls_needs_the_certificate() {
    let err = with_dynamic_price("      enabled: true\n      grpcaddress: 'localhost:10010'\n")
        .unwrap_err();
    assert_eq!(
        err.key(),
        Some("services[1].dynamicprice.tlscertpath"),
        "{err}"
    );
}

#[test]
fn dynamic_price_metering_is_refused_and_unknown_subkeys_are_named() {
    let err = with_dynamic_price(
        "      enabled: true\n      grpcaddress: 'localhost:10010'\n      insecure: true\n      metered: true\n",
    )
    .unwrap_err();
    assert_eq!(err.key(), Some("services[1].dynamicprice.metered"), "{err}");
    let err = with_dynamic_price("      enabled: false\n      grpcadress: 'x'\n").unwrap_err();
    assert_eq!(
        err.key(),
        Some("services[1].dynamicprice.grpcadress"),
        "{err}"
    );
}

#[test]
fn dynamic_price_sections_are_read() {
    let config = with_dynamic_price(
        "      enabled: true\n      grpcaddress: 'localhost:10010'\n      tlscertpath: '/tmp/pricer.cert'\n",
    )
    .unwrap();
    let dynamic = config.services[1].dynamic_price.as_ref().unwrap();
    assert_eq!(dynamic.grpc_address, "localhost:10010");
    assert_eq!(
        dynamic.tls_cert_path.as_deref(),
        Some(std::path::Path::new("/tmp/pricer.cert"))
    );
    assert!(config.ignored_aperture_keys.is_empty());
    // Disabled: the section is checked but has no effect, as in Aperture.
    let config = with_dynamic_price("      enabled: false\n      grpcaddress: ''\n").unwrap();
    assert!(config.services[1].dynamic_price.is_none());
}

#[test]
fn aperture_features_we_do_not_have_refuse_to_start_naming_the_key() {
    for (extra, key) in [
        ("autocert: true\n", "autocert"),
        ("servestatic: true\nstaticroot: ./static\n", "servestatic"),
        ("hashmail:\n  enabled: true\n", "hashmail.enabled"),
        ("writetimeout: 1m\n", "writetimeout"),
        ("etcd:\n  host: 'localhost:2379'\n", "etcd"),
    ] {
        let err =
            Config::from_yaml(&format!("{MINIMAL}{extra}"), &Overrides::default()).unwrap_err();
        assert_eq!(err.key(), Some(key), "{err}");
        assert!(err.to_string().contains("is not supported"), "{err}");
    }
    let text = MINIMAL.replace(
        "    protocol: http\n",
        "    protocol: http\n    authscheme: mpp\n    rewrite:\n      prefix: /api\n",
    );
    let err = Config::from_yaml(&text, &Overrides::default()).unwrap_err();
    assert_eq!(err.key(), Some("services[0].rewrite"), "{err}");
    let err = Config::from_yaml(
        "authenticator:\n  passphrase: 'pairing words'\n  mailboxaddress: 'mailbox:443'\n",
        &Overrides::default(),
    )
    .unwrap_err();
    assert_eq!(err.key(), Some("authenticator.passphrase"), "{err}");
}

#[test]
fn idletimeout_is_connections_idletimeout() {
    let config = Config::from_yaml(
        &format!("{MINIMAL}idletimeout: 90s\n"),
        &Overrides::default(),
    )
    .unwrap();
    assert_eq!(config.connections.idle_timeout, Duration::from_secs(90));
    let config = Config::from_yaml(
        &format!("{MINIMAL}idletimeout: 1m30s\nconnections:\n  idletimeout: 90s\n"),
        &Overrides::default(),
    )
    .unwrap();
    assert_eq!(config.connections.idle_timeout, Duration::from_secs(90));
    for bad in [
        "idletimeout: 1m\nconnections:\n  idletimeout: 2m\n",
        "idletimeout: 0s\n",
        "idletimeout: soon\n",
    ] {
        let err = Config::from_yaml(&format!("{MINIMAL}{bad}"), &Overrides::default()).unwrap_err();
        assert_eq!(err.key(), Some("idletimeout"), "{err}");
    }
}

#[test]
fn workers_default_to_one_per_core_and_must_be_between_1_and_1024() {
    let config = Config::from_yaml(MINIMAL, &Overrides::default()).unwrap();
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    assert_eq!(config.workers, cores);
    let config =
        Config::from_yaml(&format!("{MINIMAL}workers: 3\n"), &Overrides::default()).unwrap();
    assert_eq!(config.workers, 3);
    for bad in ["workers: 0\n", "workers: 1025\n", "workers: many\n"] {
        let err = Config::from_yaml(&format!("{MINIMAL}{bad}"), &Overrides::default()).unwrap_err();
        assert_eq!(err.key(), Some("workers"), "{bad}: {err}");
    }
}
