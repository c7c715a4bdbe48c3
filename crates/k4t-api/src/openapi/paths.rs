//! The REST operations of each served resource, as the Kubernetes apiserver lists them in its
//! OpenAPI documents, and their rendering as OpenAPI v3 and Swagger 2.0 path items.

use serde_json::{Map, Value, json};

use super::schemas::{
    API_RESOURCE_LIST, BINDING, DELETE_OPTIONS, PATCH, REF_PREFIX_V2, REF_PREFIX_V3, SCALE, STATUS,
    WATCH_EVENT, list_schema_name,
};
use crate::registry::{RESOURCES, ResourceDef, Subresource};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamType {
    String,
    Boolean,
    Integer,
}

impl ParamType {
    fn name(self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Boolean => "boolean",
            Self::Integer => "integer",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    pub name: &'static str,
    /// `path` or `query`.
    pub location: &'static str,
    pub description: String,
    pub ty: ParamType,
}

/// What an operation takes in its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// A required object of the named schema.
    Object(String),
    /// A patch in one of the four patch content types.
    Patch,
    /// Optional DeleteOptions.
    DeleteOptions,
}

/// The media types an operation answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Produces {
    Object,
    /// Objects, and watch streams of them.
    Stream,
    /// Text, as the log subresource answers.
    Text,
    /// Anything: the upgraded connections of exec, attach and port-forward.
    Any,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operation {
    /// `get`, `put`, `post`, `patch` or `delete`.
    pub method: &'static str,
    pub description: String,
    pub operation_id: String,
    pub tag: String,
    pub action: &'static str,
    /// (group, version, kind).
    pub gvk: (&'static str, &'static str, &'static str),
    pub params: Vec<Param>,
    pub body: Option<Body>,
    pub produces: Produces,
    /// Status code and the schema answered; `None` is a plain string.
    pub responses: Vec<(u16, Option<String>)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathItem {
    pub path: String,
    /// Parameters shared by every operation of the path.
    pub params: Vec<Param>,
    pub ops: Vec<Operation>,
}

/// `/api/v1` or `/apis/<group>/<version>`.
pub fn url_prefix(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("/api/{version}")
    } else {
        format!("/apis/{group}/{version}")
    }
}

/// The OperationId spelling of a group: `Core`, `Apps`, `Coordination`, `RbacAuthorization`.
fn group_camel(group: &str) -> String {
    if group.is_empty() {
        return "Core".to_owned();
    }
    group
        .trim_end_matches(".k8s.io")
        .split('.')
        .map(capitalize)
        .collect()
}

fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// `core_v1`, `apps_v1`, `settings_v1alpha1`.
pub fn tag(group: &str, version: &str) -> String {
    let camel = group_camel(group);
    let mut chars = camel.chars();
    let lower: String = match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    };
    format!("{lower}_{version}")
}

fn q(name: &'static str, ty: ParamType, description: &str) -> Param {
    Param {
        name,
        location: "query",
        description: description.to_owned(),
        ty,
    }
}

fn path_param(name: &'static str, description: String) -> Param {
    Param {
        name,
        location: "path",
        description,
        ty: ParamType::String,
    }
}

fn pretty() -> Param {
    q(
        "pretty",
        ParamType::String,
        "If 'true', the output is pretty printed.",
    )
}

fn dry_run() -> Param {
    q(
        "dryRun",
        ParamType::String,
        "When present, the request is processed without persisting anything. The only valid value is All.",
    )
}

fn field_manager(apply: bool) -> Param {
    let mut d =
        "The name of the actor or entity making the changes: at most 128 printable characters."
            .to_owned();
    if apply {
        d.push_str(" Required for apply patches (application/apply-patch+yaml).");
    }
    q("fieldManager", ParamType::String, &d)
}

fn field_validation() -> Param {
    q(
        "fieldValidation",
        ParamType::String,
        "How the server treats unknown or duplicate fields in the request object: Ignore drops them silently, Warn drops them and warns in a Warning header for each, Strict fails the request with BadRequest.",
    )
}

fn force() -> Param {
    q(
        "force",
        ParamType::Boolean,
        "Force an apply request to take over fields that other managers own. Must be unset for other patch types.",
    )
}

fn list_params(watch: bool) -> Vec<Param> {
    let mut p = vec![
        q(
            "allowWatchBookmarks",
            ParamType::Boolean,
            "Ask for watch events of type BOOKMARK. Servers may send them at their discretion or not at all. Ignored when not watching.",
        ),
        q(
            "continue",
            ParamType::String,
            "The continue token of a previous list response, to fetch the next chunk of the same list.",
        ),
        q(
            "fieldSelector",
            ParamType::String,
            "A selector restricting the returned objects by their fields. Defaults to everything.",
        ),
        q(
            "labelSelector",
            ParamType::String,
            "A selector restricting the returned objects by their labels. Defaults to everything.",
        ),
        q(
            "limit",
            ParamType::Integer,
            "The maximum number of objects to return. When more exist, the list metadata carries a continue token. Not supported when watching.",
        ),
        q(
            "resourceVersion",
            ParamType::String,
            "Constrains which resource versions the request may be served from. Defaults to unset.",
        ),
        q(
            "resourceVersionMatch",
            ParamType::String,
            "How resourceVersion applies to list calls. Defaults to unset.",
        ),
        q(
            "sendInitialEvents",
            ParamType::Boolean,
            "With watch=true, begin the stream with synthetic events for the current objects, then a bookmark.",
        ),
        q(
            "timeoutSeconds",
            ParamType::Integer,
            "A time limit for the list or watch call.",
        ),
    ];
    if watch {
        p.push(q(
            "watch",
            ParamType::Boolean,
            "Watch for changes to the described resources and return them as a stream of add, update and remove notifications.",
        ));
    }
    p
}

fn delete_params() -> Vec<Param> {
    vec![
        dry_run(),
        q(
            "gracePeriodSeconds",
            ParamType::Integer,
            "The number of seconds before the object is deleted; zero means at once. Unset uses the default of the kind.",
        ),
        q(
            "orphanDependents",
            ParamType::Boolean,
            "Deprecated: use propagationPolicy. Whether dependents are orphaned.",
        ),
        q(
            "propagationPolicy",
            ParamType::String,
            "Whether and how garbage collection runs: Orphan, Background or Foreground.",
        ),
    ]
}

fn write_params(patch: bool) -> Vec<Param> {
    let mut p = vec![dry_run(), field_manager(patch), field_validation()];
    if patch {
        p.push(force());
    }
    p
}

fn sorted(mut params: Vec<Param>) -> Vec<Param> {
    params.sort_by_key(|p| p.name);
    params.dedup_by_key(|p| p.name);
    params
}

/// Builds the operations of one resource.
struct Builder<'a> {
    def: &'a ResourceDef,
    prefix: String,
    tag: String,
    /// `CoreV1`.
    gv_camel: String,
    /// `Namespaced` or ``.
    scope: &'static str,
}

impl Builder<'_> {
    fn op(
        &self,
        method: &'static str,
        verb: &str,
        action: &'static str,
        suffix: &str,
    ) -> Operation {
        Operation {
            method,
            description: String::new(),
            operation_id: format!(
                "{verb}{}{}{}{suffix}",
                self.gv_camel, self.scope, self.def.kind
            ),
            tag: self.tag.clone(),
            action,
            gvk: (self.def.group, self.def.version, self.def.kind),
            params: Vec::new(),
            body: None,
            produces: Produces::Object,
            responses: Vec::new(),
        }
    }

    fn collection_path(&self) -> String {
        if self.def.namespaced {
            format!(
                "{}/namespaces/{{namespace}}/{}",
                self.prefix, self.def.plural
            )
        } else {
            format!("{}/{}", self.prefix, self.def.plural)
        }
    }

    fn scope_params(&self) -> Vec<Param> {
        if self.def.namespaced {
            vec![path_param(
                "namespace",
                "object name and auth scope, such as for teams and projects".to_owned(),
            )]
        } else {
            Vec::new()
        }
    }

    fn name_param(&self) -> Param {
        path_param("name", format!("name of the {}", self.def.kind))
    }

    fn item_params(&self) -> Vec<Param> {
        let mut p = self.scope_params();
        p.push(self.name_param());
        p.push(pretty());
        sorted(p)
    }

    fn list_op(&self, suffix: &str) -> Operation {
        let def = self.def;
        let mut op = self.op("get", "list", "list", suffix);
        op.description = format!("list or watch objects of kind {}", def.kind);
        op.produces = Produces::Stream;
        op.responses = vec![(200, Some(list_schema_name(def)))];
        op
    }

    fn paths(&self) -> Vec<PathItem> {
        let def = self.def;
        let kind = def.kind;
        let schema = def.schema.to_owned();
        let mut out = Vec::new();

        if def.namespaced {
            let mut all = self.list_op("ForAllNamespaces");
            all.operation_id = format!("list{}{kind}ForAllNamespaces", self.gv_camel);
            out.push(PathItem {
                path: format!("{}/{}", self.prefix, def.plural),
                params: sorted([list_params(true), vec![pretty()]].concat()),
                ops: vec![all],
            });
        }

        // The collection.
        let mut list = self.list_op("");
        list.params = sorted(list_params(true));
        let mut create = self.op("post", "create", "post", "");
        create.description = format!("create a {kind}");
        create.params = sorted(write_params(false));
        create.body = Some(Body::Object(schema.clone()));
        create.responses = vec![
            (200, Some(schema.clone())),
            (201, Some(schema.clone())),
            (202, Some(schema.clone())),
        ];
        let mut delete_collection = self.op("delete", "delete", "deletecollection", "");
        delete_collection.operation_id =
            format!("delete{}Collection{}{kind}", self.gv_camel, self.scope);
        delete_collection.description = format!("delete collection of {kind}");
        delete_collection.params = sorted([list_params(false), delete_params()].concat());
        delete_collection.body = Some(Body::DeleteOptions);
        delete_collection.responses = vec![(200, Some(STATUS.to_owned()))];
        let mut params = self.scope_params();
        params.push(pretty());
        out.push(PathItem {
            path: self.collection_path(),
            params: sorted(params),
            ops: vec![list, create, delete_collection],
        });

        // The item.
        let mut read = self.op("get", "read", "get", "");
        read.description = format!("read the specified {kind}");
        read.responses = vec![(200, Some(schema.clone()))];
        let mut replace = self.op("put", "replace", "put", "");
        replace.description = format!("replace the specified {kind}");
        replace.params = sorted(write_params(false));
        replace.body = Some(Body::Object(schema.clone()));
        replace.responses = vec![(200, Some(schema.clone())), (201, Some(schema.clone()))];
        let mut patch = self.op("patch", "patch", "patch", "");
        patch.description = format!("partially update the specified {kind}");
        patch.params = sorted(write_params(true));
        patch.body = Some(Body::Patch);
        patch.responses = vec![(200, Some(schema.clone())), (201, Some(schema.clone()))];
        let mut delete = self.op("delete", "delete", "delete", "");
        delete.description = format!("delete a {kind}");
        delete.params = sorted(delete_params());
        delete.body = Some(Body::DeleteOptions);
        delete.responses = vec![
            (200, Some(STATUS.to_owned())),
            (202, Some(STATUS.to_owned())),
        ];
        let item_path = format!("{}/{{name}}", self.collection_path());
        out.push(PathItem {
            path: item_path.clone(),
            params: self.item_params(),
            ops: vec![read, replace, patch, delete],
        });

        for sub in def.subresources {
            out.push(self.subresource(*sub, &item_path));
        }

        // The deprecated watch paths, which Kubernetes still lists.
        let watch_params = sorted([list_params(true), vec![pretty()]].concat());
        let watch_op = |id: String, description: String, action: &'static str| {
            let mut op = self.op("get", "watch", action, "");
            op.operation_id = id;
            op.description = description;
            op.produces = Produces::Stream;
            op.responses = vec![(200, Some(WATCH_EVENT.to_owned()))];
            op
        };
        let list_description = format!(
            "watch individual changes to a list of {kind}. deprecated: use the 'watch' parameter with a list operation instead."
        );
        if def.namespaced {
            out.push(PathItem {
                path: format!("{}/watch/{}", self.prefix, def.plural),
                params: watch_params.clone(),
                ops: vec![watch_op(
                    format!("watch{}{kind}ListForAllNamespaces", self.gv_camel),
                    list_description.clone(),
                    "watchlist",
                )],
            });
        }
        let watch_collection = if def.namespaced {
            format!(
                "{}/watch/namespaces/{{namespace}}/{}",
                self.prefix, def.plural
            )
        } else {
            format!("{}/watch/{}", self.prefix, def.plural)
        };
        out.push(PathItem {
            path: watch_collection.clone(),
            params: sorted([watch_params.clone(), self.scope_params()].concat()),
            ops: vec![watch_op(
                format!("watch{}{}{kind}List", self.gv_camel, self.scope),
                list_description,
                "watchlist",
            )],
        });
        out.push(PathItem {
            path: format!("{watch_collection}/{{name}}"),
            params: sorted([watch_params, self.scope_params(), vec![self.name_param()]].concat()),
            ops: vec![watch_op(
                format!("watch{}{}{kind}", self.gv_camel, self.scope),
                format!(
                    "watch changes to an object of kind {kind}. deprecated: use the 'watch' parameter with a list operation instead, filtered to a single item with the 'fieldSelector' parameter."
                ),
                "watch",
            )],
        });
        out
    }

    fn subresource(&self, sub: Subresource, item_path: &str) -> PathItem {
        let def = self.def;
        let kind = def.kind;
        let path = format!("{item_path}/{}", sub.name());
        let ops = match sub {
            Subresource::Status | Subresource::Scale => {
                let (schema, gvk, word) = if sub == Subresource::Scale {
                    (SCALE.to_owned(), ("autoscaling", "v1", "Scale"), "scale")
                } else {
                    (
                        def.schema.to_owned(),
                        (def.group, def.version, kind),
                        "status",
                    )
                };
                let suffix = capitalize(word);
                let mut read = self.op("get", "read", "get", &suffix);
                read.description = format!("read {word} of the specified {kind}");
                read.responses = vec![(200, Some(schema.clone()))];
                let mut replace = self.op("put", "replace", "put", &suffix);
                replace.description = format!("replace {word} of the specified {kind}");
                replace.params = sorted(write_params(false));
                replace.body = Some(Body::Object(schema.clone()));
                replace.responses = vec![(200, Some(schema.clone())), (201, Some(schema.clone()))];
                let mut patch = self.op("patch", "patch", "patch", &suffix);
                patch.description = format!("partially update {word} of the specified {kind}");
                patch.params = sorted(write_params(true));
                patch.body = Some(Body::Patch);
                patch.responses = vec![(200, Some(schema.clone())), (201, Some(schema))];
                let mut ops = vec![read, replace, patch];
                for op in &mut ops {
                    op.gvk = gvk;
                }
                ops
            }
            Subresource::Binding => {
                let mut create = self.op("post", "create", "post", "Binding");
                create.description = format!("create binding of a {kind}");
                create.gvk = ("", "v1", "Binding");
                create.params = sorted(write_params(false));
                create.body = Some(Body::Object(BINDING.to_owned()));
                create.responses = vec![
                    (200, Some(BINDING.to_owned())),
                    (201, Some(BINDING.to_owned())),
                    (202, Some(BINDING.to_owned())),
                ];
                vec![create]
            }
            Subresource::Finalize => {
                let mut replace = self.op("put", "replace", "put", "Finalize");
                replace.description = format!("replace finalize of the specified {kind}");
                replace.params = sorted(write_params(false));
                replace.body = Some(Body::Object(def.schema.to_owned()));
                replace.responses = vec![
                    (200, Some(def.schema.to_owned())),
                    (201, Some(def.schema.to_owned())),
                ];
                vec![replace]
            }
            Subresource::Log => {
                let mut read = self.op("get", "read", "get", "Log");
                read.description = format!("read log of the specified {kind}");
                read.produces = Produces::Text;
                read.params = sorted(log_params());
                read.responses = vec![(200, None)];
                vec![read]
            }
            Subresource::Exec | Subresource::Attach | Subresource::PortForward => {
                let (options, params, word) = match sub {
                    Subresource::Exec => ("PodExecOptions", exec_params(true), "exec"),
                    Subresource::Attach => ("PodAttachOptions", exec_params(false), "attach"),
                    _ => (
                        "PodPortForwardOptions",
                        port_forward_params(),
                        "portforward",
                    ),
                };
                ["get", "post"]
                    .into_iter()
                    .map(|method| {
                        let mut op = self.op(method, "connect", "connect", "");
                        op.operation_id = format!(
                            "connect{}{}{}{kind}{}",
                            self.gv_camel,
                            capitalize(method),
                            self.scope,
                            capitalize(word)
                        );
                        op.description = format!("connect {method} requests to {word} of {kind}");
                        op.gvk = ("", "v1", options);
                        op.params = sorted(params.clone());
                        op.produces = Produces::Any;
                        op.responses = vec![(200, None)];
                        op
                    })
                    .collect()
            }
        };
        let params = match sub {
            Subresource::Log
            | Subresource::Exec
            | Subresource::Attach
            | Subresource::PortForward => {
                // Kubernetes names the options kind here, and leaves `pretty` to the log op.
                let name = path_param("name", format!("name of the {}", options_word(sub, kind)));
                sorted([self.scope_params(), vec![name]].concat())
            }
            _ => self.item_params(),
        };
        PathItem { path, params, ops }
    }
}

fn options_word(sub: Subresource, kind: &str) -> String {
    match sub {
        Subresource::Exec => "PodExecOptions".to_owned(),
        Subresource::Attach => "PodAttachOptions".to_owned(),
        Subresource::PortForward => "PodPortForwardOptions".to_owned(),
        _ => kind.to_owned(),
    }
}

fn log_params() -> Vec<Param> {
    vec![
        q(
            "container",
            ParamType::String,
            "The container to stream logs of. Defaults to the only container when the pod has one.",
        ),
        q(
            "follow",
            ParamType::Boolean,
            "Follow the log stream. Defaults to false.",
        ),
        q(
            "insecureSkipTLSVerifyBackend",
            ParamType::Boolean,
            "Skip verifying the serving certificate of the backend that serves the logs.",
        ),
        q(
            "limitBytes",
            ParamType::Integer,
            "The number of bytes to read before ending the log output.",
        ),
        pretty(),
        q(
            "previous",
            ParamType::Boolean,
            "Return the logs of the previous, terminated container. Defaults to false.",
        ),
        q(
            "sinceSeconds",
            ParamType::Integer,
            "Only return logs newer than this many seconds.",
        ),
        q(
            "stream",
            ParamType::String,
            "Which stream to return: All, Stdout or Stderr. Defaults to All.",
        ),
        q(
            "tailLines",
            ParamType::Integer,
            "The number of lines from the end of the log to show.",
        ),
        q(
            "timestamps",
            ParamType::Boolean,
            "Prefix every line with an RFC3339 timestamp. Defaults to false.",
        ),
    ]
}

fn exec_params(command: bool) -> Vec<Param> {
    let mut p = vec![
        q(
            "container",
            ParamType::String,
            "The container to connect to. Defaults to the only container when the pod has one.",
        ),
        q(
            "stderr",
            ParamType::Boolean,
            "Redirect the standard error stream of the container.",
        ),
        q(
            "stdin",
            ParamType::Boolean,
            "Redirect the standard input stream of the container.",
        ),
        q(
            "stdout",
            ParamType::Boolean,
            "Redirect the standard output stream of the container.",
        ),
        q(
            "tty",
            ParamType::Boolean,
            "Allocate a terminal for the connection.",
        ),
    ];
    if command {
        p.push(q(
            "command",
            ParamType::String,
            "The command to run, one argument per parameter.",
        ));
    }
    p
}

fn port_forward_params() -> Vec<Param> {
    vec![q(
        "ports",
        ParamType::Integer,
        "The ports to forward. Required when using WebSockets.",
    )]
}

/// Every path of one group-version, in the order Kubernetes' documents sort them.
pub fn group_version_paths(group: &str, version: &str) -> Vec<PathItem> {
    let prefix = url_prefix(group, version);
    let gv_camel = format!("{}{}", group_camel(group), capitalize(version));
    let tag = tag(group, version);
    let mut out = vec![PathItem {
        path: format!("{prefix}/"),
        params: Vec::new(),
        ops: vec![Operation {
            method: "get",
            description: "get available resources".to_owned(),
            operation_id: format!("get{gv_camel}APIResources"),
            tag: tag.clone(),
            action: "",
            gvk: ("", "", ""),
            params: Vec::new(),
            body: None,
            produces: Produces::Object,
            responses: vec![(200, Some(API_RESOURCE_LIST.to_owned()))],
        }],
    }];
    for def in RESOURCES
        .iter()
        .filter(|r| r.group == group && r.version == version)
    {
        let b = Builder {
            def,
            prefix: prefix.clone(),
            tag: tag.clone(),
            gv_camel: gv_camel.clone(),
            scope: if def.namespaced { "Namespaced" } else { "" },
        };
        out.extend(b.paths());
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

/// The schema names the operations reference.
pub fn referenced_schemas(items: &[PathItem]) -> Vec<String> {
    let mut out = Vec::new();
    for op in items.iter().flat_map(|i| &i.ops) {
        match &op.body {
            Some(Body::Object(s)) => out.push(s.clone()),
            Some(Body::Patch) => out.push(PATCH.to_owned()),
            Some(Body::DeleteOptions) => out.push(DELETE_OPTIONS.to_owned()),
            None => {}
        }
        out.extend(op.responses.iter().filter_map(|(_, s)| s.clone()));
    }
    out.sort();
    out.dedup();
    out
}

const PATCH_TYPES: [&str; 4] = [
    "application/apply-patch+yaml",
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
];

fn media_types(p: Produces) -> &'static [&'static str] {
    match p {
        Produces::Object => &[
            "application/json",
            "application/yaml",
            "application/vnd.kubernetes.protobuf",
        ],
        Produces::Stream => &[
            "application/json",
            "application/yaml",
            "application/vnd.kubernetes.protobuf",
            "application/json;stream=watch",
            "application/vnd.kubernetes.protobuf;stream=watch",
        ],
        Produces::Text => &[
            "text/plain",
            "application/json",
            "application/yaml",
            "application/vnd.kubernetes.protobuf",
        ],
        Produces::Any => &["*/*"],
    }
}

fn status_text(code: u16) -> &'static str {
    match code {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        _ => "Unauthorized",
    }
}

fn gvk_value(op: &Operation) -> Option<Value> {
    let (group, version, kind) = op.gvk;
    (!kind.is_empty()).then(|| json!({"group": group, "kind": kind, "version": version}))
}

fn schema_ref(prefix: &str, schema: &Option<String>) -> Value {
    match schema {
        Some(s) => json!({"$ref": format!("{prefix}{s}")}),
        None => json!({"type": "string"}),
    }
}

fn v3_param(p: &Param) -> Value {
    let mut v = json!({
        "description": p.description,
        "in": p.location,
        "name": p.name,
        "schema": {"type": p.ty.name(), "uniqueItems": true},
    });
    if p.location == "path" {
        v["required"] = json!(true);
    }
    v
}

fn v3_operation(op: &Operation) -> Value {
    let mut v = Map::new();
    v.insert("description".into(), json!(op.description));
    v.insert("operationId".into(), json!(op.operation_id));
    if !op.params.is_empty() {
        v.insert(
            "parameters".into(),
            Value::Array(op.params.iter().map(v3_param).collect()),
        );
    }
    let content = |types: &[&str], schema: Value| -> Value {
        Value::Object(
            types
                .iter()
                .map(|t| ((*t).to_owned(), json!({"schema": schema})))
                .collect(),
        )
    };
    match &op.body {
        Some(Body::Object(s)) => {
            v.insert(
                "requestBody".into(),
                json!({"content": content(&["*/*"], schema_ref(REF_PREFIX_V3, &Some(s.clone()))), "required": true}),
            );
        }
        Some(Body::Patch) => {
            v.insert(
                "requestBody".into(),
                json!({"content": content(&PATCH_TYPES, schema_ref(REF_PREFIX_V3, &Some(PATCH.to_owned()))), "required": true}),
            );
        }
        Some(Body::DeleteOptions) => {
            v.insert(
                "requestBody".into(),
                json!({"content": content(&["*/*"], schema_ref(REF_PREFIX_V3, &Some(DELETE_OPTIONS.to_owned())))}),
            );
        }
        None => {}
    }
    let mut responses = Map::new();
    for (code, schema) in &op.responses {
        responses.insert(
            code.to_string(),
            json!({
                "content": content(media_types(op.produces), schema_ref(REF_PREFIX_V3, schema)),
                "description": status_text(*code),
            }),
        );
    }
    responses.insert("401".into(), json!({"description": "Unauthorized"}));
    v.insert("responses".into(), Value::Object(responses));
    v.insert("tags".into(), json!([op.tag]));
    if !op.action.is_empty() {
        v.insert("x-kubernetes-action".into(), json!(op.action));
    }
    if let Some(gvk) = gvk_value(op) {
        v.insert("x-kubernetes-group-version-kind".into(), gvk);
    }
    Value::Object(v)
}

/// The `paths` object of an OpenAPI v3 document.
pub fn v3_paths(items: &[PathItem]) -> Map<String, Value> {
    items
        .iter()
        .map(|item| {
            let mut v = Map::new();
            if !item.params.is_empty() {
                v.insert(
                    "parameters".into(),
                    Value::Array(item.params.iter().map(v3_param).collect()),
                );
            }
            for op in &item.ops {
                v.insert(op.method.into(), v3_operation(op));
            }
            (item.path.clone(), Value::Object(v))
        })
        .collect()
}

fn v2_param(p: &Param) -> Value {
    let mut v = json!({
        "description": p.description,
        "in": p.location,
        "name": p.name,
        "type": p.ty.name(),
        "uniqueItems": true,
    });
    if p.location == "path" {
        v["required"] = json!(true);
    }
    v
}

fn v2_operation(op: &Operation) -> Value {
    let mut v = Map::new();
    let consumes: &[&str] = match op.body {
        Some(Body::Patch) => &PATCH_TYPES,
        _ => &["*/*"],
    };
    v.insert("consumes".into(), json!(consumes));
    v.insert("description".into(), json!(op.description));
    v.insert("operationId".into(), json!(op.operation_id));
    let mut params: Vec<Value> = Vec::new();
    match &op.body {
        Some(Body::Object(s)) => params.push(json!({
            "in": "body", "name": "body", "required": true,
            "schema": schema_ref(REF_PREFIX_V2, &Some(s.clone())),
        })),
        Some(Body::Patch) => params.push(json!({
            "in": "body", "name": "body", "required": true,
            "schema": schema_ref(REF_PREFIX_V2, &Some(PATCH.to_owned())),
        })),
        Some(Body::DeleteOptions) => params.push(json!({
            "in": "body", "name": "body",
            "schema": schema_ref(REF_PREFIX_V2, &Some(DELETE_OPTIONS.to_owned())),
        })),
        None => {}
    }
    params.extend(op.params.iter().map(v2_param));
    if !params.is_empty() {
        v.insert("parameters".into(), Value::Array(params));
    }
    v.insert("produces".into(), json!(media_types(op.produces)));
    let mut responses = Map::new();
    for (code, schema) in &op.responses {
        responses.insert(
            code.to_string(),
            json!({"description": status_text(*code), "schema": schema_ref(REF_PREFIX_V2, schema)}),
        );
    }
    responses.insert("401".into(), json!({"description": "Unauthorized"}));
    v.insert("responses".into(), Value::Object(responses));
    v.insert("schemes".into(), json!(["https"]));
    v.insert("tags".into(), json!([op.tag]));
    if !op.action.is_empty() {
        v.insert("x-kubernetes-action".into(), json!(op.action));
    }
    if let Some(gvk) = gvk_value(op) {
        v.insert("x-kubernetes-group-version-kind".into(), gvk);
    }
    Value::Object(v)
}

/// The `paths` object of a Swagger 2.0 document.
pub fn v2_paths(items: &[PathItem]) -> Map<String, Value> {
    items
        .iter()
        .map(|item| {
            let mut v = Map::new();
            if !item.params.is_empty() {
                v.insert(
                    "parameters".into(),
                    Value::Array(item.params.iter().map(v2_param).collect()),
                );
            }
            for op in &item.ops {
                v.insert(op.method.into(), v2_operation(op));
            }
            (item.path.clone(), Value::Object(v))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(group_camel(""), "Core");
        assert_eq!(group_camel("coordination.k8s.io"), "Coordination");
        assert_eq!(
            group_camel("rbac.authorization.k8s.io"),
            "RbacAuthorization"
        );
        assert_eq!(tag("", "v1"), "core_v1");
        assert_eq!(tag("settings.k8s.io", "v1alpha1"), "settings_v1alpha1");
        assert_eq!(url_prefix("apps", "v1"), "/apis/apps/v1");
        assert_eq!(url_prefix("", "v1"), "/api/v1");
    }

    fn op<'a>(items: &'a [PathItem], path: &str, method: &str) -> &'a Operation {
        items
            .iter()
            .find(|i| i.path == path)
            .and_then(|i| i.ops.iter().find(|o| o.method == method))
            .unwrap_or_else(|| panic!("{method} {path} missing"))
    }

    #[test]
    fn operation_ids_follow_kubernetes() {
        let core = group_version_paths("", "v1");
        let check = |path: &str, method: &str, id: &str, action: &str| {
            let o = op(&core, path, method);
            assert_eq!(o.operation_id, id, "{method} {path}");
            assert_eq!(o.action, action, "{method} {path}");
        };
        check(
            "/api/v1/pods",
            "get",
            "listCoreV1PodForAllNamespaces",
            "list",
        );
        check(
            "/api/v1/namespaces/{namespace}/pods",
            "post",
            "createCoreV1NamespacedPod",
            "post",
        );
        check(
            "/api/v1/namespaces/{namespace}/pods",
            "delete",
            "deleteCoreV1CollectionNamespacedPod",
            "deletecollection",
        );
        check(
            "/api/v1/namespaces/{namespace}/pods/{name}",
            "patch",
            "patchCoreV1NamespacedPod",
            "patch",
        );
        check(
            "/api/v1/namespaces/{namespace}/pods/{name}/status",
            "put",
            "replaceCoreV1NamespacedPodStatus",
            "put",
        );
        check(
            "/api/v1/namespaces/{namespace}/pods/{name}/binding",
            "post",
            "createCoreV1NamespacedPodBinding",
            "post",
        );
        check(
            "/api/v1/namespaces/{namespace}/pods/{name}/log",
            "get",
            "readCoreV1NamespacedPodLog",
            "get",
        );
        check(
            "/api/v1/namespaces/{namespace}/pods/{name}/exec",
            "post",
            "connectCoreV1PostNamespacedPodExec",
            "connect",
        );
        check(
            "/api/v1/namespaces/{namespace}/pods/{name}/portforward",
            "get",
            "connectCoreV1GetNamespacedPodPortforward",
            "connect",
        );
        check("/api/v1/nodes/{name}", "get", "readCoreV1Node", "get");
        check(
            "/api/v1/namespaces/{name}/finalize",
            "put",
            "replaceCoreV1NamespaceFinalize",
            "put",
        );
        check(
            "/api/v1/watch/namespaces/{namespace}/pods",
            "get",
            "watchCoreV1NamespacedPodList",
            "watchlist",
        );
        check(
            "/api/v1/watch/nodes/{name}",
            "get",
            "watchCoreV1Node",
            "watch",
        );
        let apps = group_version_paths("apps", "v1");
        let scale = op(
            &apps,
            "/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale",
            "patch",
        );
        assert_eq!(scale.operation_id, "patchAppsV1NamespacedDeploymentScale");
        assert_eq!(scale.gvk, ("autoscaling", "v1", "Scale"));
    }

    #[test]
    fn patch_takes_force_and_field_validation() {
        let core = group_version_paths("", "v1");
        let patch = op(&core, "/api/v1/namespaces/{namespace}/pods/{name}", "patch");
        let names: Vec<_> = patch.params.iter().map(|p| p.name).collect();
        assert_eq!(
            names,
            ["dryRun", "fieldManager", "fieldValidation", "force"]
        );
        assert_eq!(patch.gvk, ("", "v1", "Pod"));
        let v3 = v3_operation(patch);
        let content = v3["requestBody"]["content"].as_object().unwrap();
        assert_eq!(content.len(), 4);
        assert!(content.contains_key("application/strategic-merge-patch+json"));
        let v2 = v2_operation(patch);
        assert_eq!(v2["parameters"][0]["in"], "body");
        assert_eq!(v2["consumes"].as_array().unwrap().len(), 4);
    }
}
