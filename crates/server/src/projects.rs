//! Projects and ingest keys: which project a request or resource writes into and reads from.

use std::collections::HashMap;

use tracehouse_model::otlp::PROJECT_ATTRIBUTES;
use tracehouse_model::{AttrValue, Attributes};

use crate::config::ProjectConfig;

/// The project used when no projects are configured.
pub const OPEN_PROJECT: &str = "default";

/// Why a key was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// Projects are configured and the request named none.
    #[error(
        "missing project key: send it as the x-tracehouse-key header, an `authorization: Bearer` header, or the resource attribute tracehouse.project"
    )]
    Missing,
    /// The key matches no configured project.
    #[error("unknown project key")]
    Unknown,
    /// A browser key was used to read: browser keys only write.
    #[error("this is a browser key, which can only send data: read with one of the project's keys")]
    WriteOnly,
}

/// Why a project configuration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProjectConfigError {
    /// A project id has characters outside `[a-z0-9_-]`, or is empty.
    #[error("invalid project id {0:?}: use lowercase letters, digits, '-' and '_'")]
    BadId(String),
    /// Two projects claim the same key.
    #[error("key {0:?} is configured for more than one project")]
    DuplicateKey(String),
    /// A project has no key.
    #[error("project {0:?} has no keys")]
    NoKeys(String),
}

/// What a key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    /// A project key: write and read.
    ReadWrite,
    /// A public browser key: write only.
    WriteOnly,
}

/// The key → project table.
#[derive(Debug, Clone)]
pub struct Projects {
    by_key: HashMap<String, (String, Access)>,
}

impl Projects {
    /// Builds the table, validating ids and keys.
    pub fn new(configs: &[ProjectConfig]) -> Result<Projects, ProjectConfigError> {
        let mut by_key = HashMap::new();
        for p in configs {
            let valid = !p.id.is_empty()
                && p.id.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_'
                });
            if !valid {
                return Err(ProjectConfigError::BadId(p.id.clone()));
            }
            if p.keys.is_empty() {
                return Err(ProjectConfigError::NoKeys(p.id.clone()));
            }
            let keys = p.keys.iter().map(|k| (k, Access::ReadWrite));
            let browser = p.browser_keys.iter().map(|k| (k, Access::WriteOnly));
            for (k, access) in keys.chain(browser) {
                if by_key.insert(k.clone(), (p.id.clone(), access)).is_some() {
                    return Err(ProjectConfigError::DuplicateKey(k.clone()));
                }
            }
        }
        Ok(Projects { by_key })
    }

    /// Every project's id, sorted ([`OPEN_PROJECT`] alone in open mode).
    pub fn ids(&self) -> Vec<String> {
        if self.is_open() {
            return vec![OPEN_PROJECT.to_string()];
        }
        let ids: std::collections::BTreeSet<&String> =
            self.by_key.values().map(|(id, _)| id).collect();
        ids.into_iter().cloned().collect()
    }

    /// True when no projects are configured: everything goes to [`OPEN_PROJECT`].
    pub fn is_open(&self) -> bool {
        self.by_key.is_empty()
    }

    /// The project for a request key (header), when reading: browser keys are refused.
    pub fn for_key(&self, key: Option<&str>) -> Result<String, AuthError> {
        match self.lookup(key)? {
            (project, Access::ReadWrite) => Ok(project),
            (_, Access::WriteOnly) => Err(AuthError::WriteOnly),
        }
    }

    /// The project a key writes into: project keys and browser keys alike.
    pub fn for_write_key(&self, key: Option<&str>) -> Result<String, AuthError> {
        self.lookup(key).map(|(project, _)| project)
    }

    fn lookup(&self, key: Option<&str>) -> Result<(String, Access), AuthError> {
        if self.is_open() {
            return Ok((OPEN_PROJECT.to_string(), Access::ReadWrite));
        }
        let key = key.ok_or(AuthError::Missing)?;
        self.by_key.get(key).cloned().ok_or(AuthError::Unknown)
    }

    /// The project for one resource's data: a key in the resource attributes wins over the
    /// request header.
    pub fn for_resource(
        &self,
        header_key: Option<&str>,
        resource: &Attributes,
    ) -> Result<String, AuthError> {
        let attr_key = PROJECT_ATTRIBUTES
            .iter()
            .find_map(|k| resource.get(*k))
            .map(AttrValue::as_text);
        self.for_write_key(attr_key.as_deref().or(header_key))
    }
}

/// The key a request carries in its headers: `x-tracehouse-key`, else `authorization: Bearer …`.
pub fn request_key(headers: &axum::http::HeaderMap) -> Option<&str> {
    key_from_headers(
        headers
            .get("x-tracehouse-key")
            .and_then(|v| v.to_str().ok()),
        headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok()),
    )
}

/// Extracts the key from `x-tracehouse-key` or `authorization: Bearer …` header values.
pub fn key_from_headers<'a>(
    x_key: Option<&'a str>,
    authorization: Option<&'a str>,
) -> Option<&'a str> {
    x_key.map(str::trim).filter(|k| !k.is_empty()).or_else(|| {
        authorization
            .and_then(|a| {
                a.strip_prefix("Bearer ")
                    .or_else(|| a.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|k| !k.is_empty())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn projects() -> Projects {
        Projects::new(&[
            ProjectConfig {
                id: "shop".into(),
                keys: vec!["k1".into()],
                browser_keys: vec!["pub1".into()],
            },
            ProjectConfig {
                id: "blog".into(),
                keys: vec!["k2".into(), "k3".into()],
                browser_keys: Vec::new(),
            },
        ])
        .unwrap()
    }

    #[test]
    fn open_mode_accepts_anything() {
        let open = Projects::new(&[]).unwrap();
        assert_eq!(open.for_key(None).unwrap(), OPEN_PROJECT);
        assert_eq!(open.for_key(Some("whatever")).unwrap(), OPEN_PROJECT);
    }

    #[test]
    fn keys_resolve_and_resource_attribute_wins() {
        let p = projects();
        assert_eq!(p.for_key(Some("k3")).unwrap(), "blog");
        assert_eq!(p.for_key(Some("nope")), Err(AuthError::Unknown));
        assert_eq!(p.for_key(None), Err(AuthError::Missing));
        let mut res = Attributes::new();
        res.insert("highlight.project_id".into(), AttrValue::Str("k1".into()));
        assert_eq!(p.for_resource(Some("k2"), &res).unwrap(), "shop");
        assert_eq!(
            p.for_resource(Some("k2"), &Attributes::new()).unwrap(),
            "blog"
        );
    }

    #[test]
    fn browser_keys_write_but_do_not_read() {
        let p = projects();
        let mut res = Attributes::new();
        res.insert("tracehouse.project".into(), AttrValue::Str("pub1".into()));
        assert_eq!(p.for_resource(None, &res).unwrap(), "shop");
        assert_eq!(
            p.for_resource(Some("pub1"), &Attributes::new()).unwrap(),
            "shop"
        );
        assert_eq!(p.for_key(Some("pub1")), Err(AuthError::WriteOnly));
    }

    #[test]
    fn header_parsing() {
        assert_eq!(key_from_headers(Some("abc"), None), Some("abc"));
        assert_eq!(key_from_headers(None, Some("Bearer xyz")), Some("xyz"));
        assert_eq!(key_from_headers(None, Some("Basic xyz")), None);
        assert_eq!(key_from_headers(Some(" "), Some("Bearer q")), Some("q"));
    }

    #[test]
    fn bad_configs_are_refused() {
        let bad = |id: &str, keys: &[&str]| {
            Projects::new(&[ProjectConfig {
                id: id.into(),
                keys: keys.iter().map(|k| k.to_string()).collect(),
                browser_keys: Vec::new(),
            }])
            .err()
        };
        assert_eq!(
            bad("Shop", &["k"]),
            Some(ProjectConfigError::BadId("Shop".into()))
        );
        assert_eq!(
            bad("shop", &[]),
            Some(ProjectConfigError::NoKeys("shop".into()))
        );
        let dup = Projects::new(&[
            ProjectConfig {
                id: "a".into(),
                keys: vec!["k".into()],
                browser_keys: Vec::new(),
            },
            ProjectConfig {
                id: "b".into(),
                keys: vec!["k2".into()],
                browser_keys: vec!["k".into()],
            },
        ]);
        assert_eq!(
            dup.err(),
            Some(ProjectConfigError::DuplicateKey("k".into()))
        );
    }
}
