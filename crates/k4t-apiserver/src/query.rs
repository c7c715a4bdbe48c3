//! Query-string parameters.

use k4t_api::error::ApiError;

/// The decoded query string of a request.
#[derive(Debug, Clone, Default)]
pub struct Query(Vec<(String, String)>);

impl Query {
    pub fn parse(raw: Option<&str>) -> Self {
        Self(
            raw.map(|q| {
                form_urlencoded::parse(q.as_bytes())
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect()
            })
            .unwrap_or_default(),
        )
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `name`, in order.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// A boolean parameter (`true`/`1`).
    pub fn flag(&self, name: &str) -> bool {
        matches!(self.get(name), Some("true" | "1" | "True"))
    }

    /// An integer parameter; a malformed one is a 400.
    pub fn int(&self, name: &str) -> Result<Option<i64>, ApiError> {
        match self.get(name) {
            None | Some("") => Ok(None),
            Some(v) => v.parse::<i64>().map(Some).map_err(|_| {
                ApiError::BadRequest(format!(
                    "invalid value {v:?} for query parameter {name}: must be an integer"
                ))
            }),
        }
    }

    /// A copy with `name` set to `value` (replacing earlier values).
    pub fn with(mut self, name: &str, value: &str) -> Self {
        self.0.retain(|(k, _)| k != name);
        self.0.push((name.to_owned(), value.to_owned()));
        self
    }

    /// `dryRun=All`.
    pub fn dry_run(&self) -> Result<bool, ApiError> {
        let values = self.all("dryRun");
        for v in &values {
            if *v != "All" {
                return Err(ApiError::BadRequest(format!(
                    "dryRun: unsupported value {v:?}: must be All"
                )));
            }
        }
        Ok(!values.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_repeated_and_encoded_values() {
        let q = Query::parse(Some(
            "command=echo&command=hello%20world&watch=true&limit=500&fieldSelector=metadata.name%3Dweb",
        ));
        assert_eq!(q.all("command"), vec!["echo", "hello world"]);
        assert!(q.flag("watch"));
        assert_eq!(q.int("limit").unwrap(), Some(500));
        assert_eq!(q.get("fieldSelector"), Some("metadata.name=web"));
        assert_eq!(
            Query::parse(Some("limit=x"))
                .int("limit")
                .unwrap_err()
                .code(),
            400
        );
    }
}
