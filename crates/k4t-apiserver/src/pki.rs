//! The server's identity on disk: a CA, a serving certificate signed by it, the admin bearer
//! token, and the kubeconfig that ties them together. Created on the first start, reused
//! afterwards (the serving certificate is re-issued when its names change).

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use rand::RngCore as _;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};

/// Errors while preparing the server's identity. Messages name the file.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("writing {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("certificate generation failed: {0}")]
    Cert(#[from] rcgen::Error),
    #[error("invalid pem in {path}: {message}")]
    Pem { path: PathBuf, message: String },
}

/// What the server needs to serve TLS and check tokens.
#[derive(Clone)]
pub struct Identity {
    pub ca_pem: String,
    pub cert_pem: String,
    pub key_pem: String,
    /// The admin bearer token.
    pub token: String,
    /// Where the kubeconfig was written.
    pub kubeconfig: PathBuf,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("kubeconfig", &self.kubeconfig)
            .finish_non_exhaustive()
    }
}

fn read(path: &Path) -> Result<Option<String>, PkiError> {
    match std::fs::read_to_string(path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(PkiError::Read {
            path: path.to_owned(),
            source,
        }),
    }
}

/// Writes a file atomically (temp file + rename) with the given mode.
pub fn write_private(path: &Path, contents: &str, mode: u32) -> Result<(), PkiError> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let err = |source| PkiError::Write {
        path: path.to_owned(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(&tmp)
        .map_err(err)?;
    f.write_all(contents.as_bytes()).map_err(err)?;
    f.sync_all().map_err(err)?;
    std::fs::rename(&tmp, path).map_err(err)?;
    Ok(())
}

fn ca_params() -> Result<CertificateParams, PkiError> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "k4t-ca");
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    Ok(params)
}

/// The names the serving certificate covers.
pub fn serving_names(extra: &[String]) -> Vec<String> {
    let mut names = vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
        "k4t".to_owned(),
    ];
    if let Ok(h) = std::fs::read_to_string("/proc/sys/kernel/hostname") {
        let h = h.trim();
        if !h.is_empty() {
            names.push(h.to_owned());
        }
    }
    for e in extra {
        if !names.contains(e) {
            names.push(e.clone());
        }
    }
    names
}

fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Loads the identity in `dir`, creating what is missing, and writes `dir/kubeconfig` for
/// `server_url`.
pub fn ensure(dir: &Path, server_url: &str, names: &[String]) -> Result<Identity, PkiError> {
    let tls = dir.join("tls");
    let ca_cert_path = tls.join("ca.crt");
    let ca_key_path = tls.join("ca.key");
    let cert_path = tls.join("server.crt");
    let key_path = tls.join("server.key");
    let names_path = tls.join("server.names");
    let token_path = dir.join("token");

    let (ca_pem, ca_key) = match (read(&ca_cert_path)?, read(&ca_key_path)?) {
        (Some(cert), Some(key)) => {
            let kp = KeyPair::from_pem(&key).map_err(|e| PkiError::Pem {
                path: ca_key_path.clone(),
                message: e.to_string(),
            })?;
            (cert, kp)
        }
        _ => {
            let kp = KeyPair::generate()?;
            let cert = ca_params()?.self_signed(&kp)?;
            write_private(&ca_key_path, &kp.serialize_pem(), 0o600)?;
            write_private(&ca_cert_path, &cert.pem(), 0o644)?;
            (cert.pem(), kp)
        }
    };

    let wanted_names = names.join("\n");
    let (cert_pem, key_pem) = match (read(&cert_path)?, read(&key_path)?, read(&names_path)?) {
        (Some(c), Some(k), Some(n)) if n == wanted_names => (c, k),
        _ => {
            let issuer = Issuer::new(ca_params()?, &ca_key);
            let kp = KeyPair::generate()?;
            let mut params = CertificateParams::new(Vec::<String>::new())?;
            let mut dn = DistinguishedName::new();
            dn.push(DnType::CommonName, "k4t-apiserver");
            params.distinguished_name = dn;
            params.subject_alt_names = names
                .iter()
                .map(|n| match n.parse::<IpAddr>() {
                    Ok(ip) => Ok(SanType::IpAddress(ip)),
                    Err(_) => n.clone().try_into().map(SanType::DnsName),
                })
                .collect::<Result<_, _>>()?;
            params.key_usages = vec![
                KeyUsagePurpose::DigitalSignature,
                KeyUsagePurpose::KeyEncipherment,
            ];
            params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
            let cert = params.signed_by(&kp, &issuer)?;
            write_private(&key_path, &kp.serialize_pem(), 0o600)?;
            write_private(&cert_path, &cert.pem(), 0o644)?;
            write_private(&names_path, &wanted_names, 0o644)?;
            (cert.pem(), kp.serialize_pem())
        }
    };

    let token = match read(&token_path)? {
        Some(t) if !t.trim().is_empty() => t.trim().to_owned(),
        _ => {
            let t = random_token();
            write_private(&token_path, &t, 0o600)?;
            t
        }
    };

    let kubeconfig = dir.join("kubeconfig");
    write_private(
        &kubeconfig,
        &kubeconfig_yaml(server_url, &ca_pem, &token),
        0o600,
    )?;
    Ok(Identity {
        ca_pem,
        cert_pem,
        key_pem,
        token,
        kubeconfig,
    })
}

/// A kubeconfig for `server_url`, trusting `ca_pem`, authenticating with `token`.
pub fn kubeconfig_yaml(server_url: &str, ca_pem: &str, token: &str) -> String {
    let ca = base64::engine::general_purpose::STANDARD.encode(ca_pem);
    format!(
        "apiVersion: v1
kind: Config
clusters:
- name: k4t
  cluster:
    server: {server_url}
    certificate-authority-data: {ca}
users:
- name: admin
  user:
    token: {token}
contexts:
- name: k4t
  context:
    cluster: k4t
    user: admin
current-context: k4t
preferences: {{}}
"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_is_created_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let names = serving_names(&[]);
        let a = ensure(dir.path(), "https://127.0.0.1:1", &names).unwrap();
        let b = ensure(dir.path(), "https://127.0.0.1:2", &names).unwrap();
        assert_eq!(a.token, b.token);
        assert_eq!(a.cert_pem, b.cert_pem);
        assert_eq!(a.ca_pem, b.ca_pem);
        let kc = std::fs::read_to_string(&b.kubeconfig).unwrap();
        assert!(kc.contains("server: https://127.0.0.1:2"));
        assert!(kc.contains(&b.token));
        // New names re-issue the serving certificate under the same CA.
        let c = ensure(
            dir.path(),
            "https://127.0.0.1:2",
            &serving_names(&["10.1.2.3".into()]),
        )
        .unwrap();
        assert_ne!(c.cert_pem, b.cert_pem);
        assert_eq!(c.ca_pem, b.ca_pem);
    }
}
