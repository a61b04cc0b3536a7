//! The krew manifest `plugin.yaml`: valid by krew's own rules (its
//! `internal/index/validation` and the index's `validate-krew-manifest`), and
//! the archive `scripts/krew-release.sh` builds installs, the way krew
//! installs it, into a working `kubectl sts`.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;

/// krew's `constants.CurrentAPIVersion` and `PluginKind`.
const API_VERSION: &str = "krew.googlecontainertools.github.com/v1alpha2";
const KIND: &str = "Plugin";
/// The name the index files it under (`plugins/sts.yaml`); kubectl runs it as `kubectl sts`.
const PLUGIN_NAME: &str = "sts";

/// The <os, arch> pairs krew is released for (validate-krew-manifest's `allPlatforms`).
const KREW_PLATFORMS: [(&str, &str); 11] = [
    ("windows", "386"),
    ("windows", "amd64"),
    ("windows", "arm64"),
    ("linux", "386"),
    ("linux", "amd64"),
    ("linux", "arm"),
    ("linux", "arm64"),
    ("linux", "ppc64le"),
    ("darwin", "386"),
    ("darwin", "amd64"),
    ("darwin", "arm64"),
];

/// The platforms kubectl-sts ships for.
const SHIPPED: [(&str, &str); 4] = [
    ("linux", "amd64"),
    ("linux", "arm64"),
    ("darwin", "amd64"),
    ("darwin", "arm64"),
];

/// krew's `index.Plugin`, as far as it is read here.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Plugin {
    #[serde(default)]
    api_version: String,
    #[serde(default)]
    kind: String,
    metadata: Metadata,
    spec: Spec,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
struct Metadata {
    #[serde(default)]
    name: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Spec {
    #[serde(default)]
    version: String,
    #[serde(default)]
    homepage: String,
    #[serde(default)]
    short_description: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    caveats: String,
    #[serde(default)]
    platforms: Vec<Platform>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
struct Platform {
    #[serde(default)]
    uri: String,
    #[serde(default)]
    sha256: String,
    selector: Option<Selector>,
    files: Option<Vec<FileOperation>>,
    #[serde(default)]
    bin: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Selector {
    match_labels: Option<BTreeMap<String, String>>,
    match_expressions: Option<Vec<Requirement>>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
struct Requirement {
    key: String,
    operator: String,
    #[serde(default)]
    values: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
struct FileOperation {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read_manifest(path: &Path) -> Plugin {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_saphyr::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not a plugin manifest: {e}", path.display()))
}

/// Everything krew (and its index's CI) would refuse in `plugin`, filed as `name`.
fn krew_problems(name: &str, plugin: &Plugin) -> Vec<String> {
    let mut problems = Vec::new();
    let mut problem = |text: String| problems.push(text);
    // validation.ValidatePlugin
    if plugin.api_version != API_VERSION {
        problem(format!(
            "apiVersion is {:?}, krew reads {API_VERSION:?}",
            plugin.api_version
        ));
    }
    if plugin.kind != KIND {
        problem(format!("kind is {:?}, krew reads {KIND:?}", plugin.kind));
    }
    if !is_safe_plugin_name(name) {
        problem(format!(
            "the plugin name {name:?} must match ^[\\w-]+$ and not be a Windows device name"
        ));
    }
    if plugin.metadata.name != name {
        problem(format!(
            "metadata.name is {:?}, the manifest is filed as {name:?}",
            plugin.metadata.name
        ));
    }
    let spec = &plugin.spec;
    if spec.short_description.is_empty() {
        problem("no shortDescription".into());
    }
    if spec.short_description.contains(['\r', '\n']) {
        problem("shortDescription has a line break".into());
    }
    if spec.platforms.is_empty() {
        problem("no platforms".into());
    }
    if !is_krew_semver(&spec.version) {
        problem(format!(
            "version {:?} is not a semantic version with a leading v",
            spec.version
        ));
    }
    for (i, platform) in spec.platforms.iter().enumerate() {
        for text in platform_problems(platform) {
            problem(format!("platforms[{i}]: {text}"));
        }
    }
    // validate-krew-manifest: line lengths (warnings there), platforms.
    for (field, text, max) in [
        ("description", &spec.description, 80),
        ("shortDescription", &spec.short_description, 70),
        ("caveats", &spec.caveats, 80),
    ] {
        for line in text.lines() {
            if line.chars().count() > max && line.trim().contains(' ') {
                problem(format!(
                    "{field} has a line over {max} characters: {line:?}"
                ));
            }
        }
    }
    for (i, platform) in spec.platforms.iter().enumerate() {
        if !KREW_PLATFORMS
            .iter()
            .any(|&(os, arch)| selects(platform, os, arch))
        {
            problem(format!(
                "platforms[{i}]'s selector matches no platform krew supports"
            ));
        }
    }
    for (os, arch) in KREW_PLATFORMS {
        let matching: Vec<usize> = (0..spec.platforms.len())
            .filter(|&i| selects(&spec.platforms[i], os, arch))
            .collect();
        if matching.len() > 1 {
            problem(format!(
                "platforms {matching:?} all select os={os} arch={arch}"
            ));
        }
    }
    // What the index asks of plugins beyond the code: a homepage, https downloads.
    if !spec.homepage.starts_with("https://") {
        problem(format!("homepage {:?} is not an https URL", spec.homepage));
    }
    if spec.description.trim().is_empty() {
        problem("no description".into());
    }
    problems
}

/// validation.validatePlatform, validateFiles and validateSelector, plus what
/// installing would refuse (unclean `to`, a `bin` outside the install dir).
fn platform_problems(platform: &Platform) -> Vec<String> {
    let mut problems = Vec::new();
    if platform.uri.is_empty() {
        problems.push("no uri".into());
    } else if !platform.uri.starts_with("https://") {
        problems.push(format!("uri {:?} is not https", platform.uri));
    } else if !(platform.uri.ends_with(".tar.gz") || platform.uri.ends_with(".zip")) {
        problems.push(format!(
            "uri {:?} is neither .tar.gz nor .zip",
            platform.uri
        ));
    }
    let hex64 = platform.sha256.len() == 64
        && platform
            .sha256
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c));
    if !hex64 {
        problems.push(format!(
            "sha256 {:?} does not match ^[a-f0-9]{{64}}$",
            platform.sha256
        ));
    }
    if platform.bin.is_empty() {
        problems.push("no bin".into());
    } else if clean(&platform.bin).starts_with("..") || platform.bin.starts_with('/') {
        problems.push(format!("bin {:?} is outside the install dir", platform.bin));
    }
    match &platform.files {
        Some(files) if files.is_empty() => {
            problems.push("files is empty (leave it out, or list operations)".into())
        }
        Some(files) => {
            for op in files {
                if op.from.is_empty() || op.to.is_empty() {
                    problems.push(format!("file operation {op:?} needs from and to"));
                } else if clean(&op.to) != op.to {
                    problems.push(format!(
                        "files: to {:?} is not clean (krew wants {:?})",
                        op.to,
                        clean(&op.to)
                    ));
                }
            }
        }
        None => {}
    }
    match &platform.selector {
        None => problems.push("no selector".into()),
        Some(selector) => {
            let labels = selector.match_labels.as_ref();
            let expressions = selector.match_expressions.as_ref();
            if labels.is_none() && expressions.is_none_or(|e| e.is_empty()) {
                problems.push("empty selector".into());
            }
            let keys = labels
                .into_iter()
                .flat_map(|l| l.keys())
                .chain(expressions.into_iter().flatten().map(|r| &r.key));
            for key in keys {
                if key != "os" && key != "arch" {
                    problems.push(format!("selector key {key:?} (only os and arch)"));
                }
            }
            if labels.is_some_and(|l| l.is_empty()) {
                problems.push("matchLabels specified but empty".into());
            }
            if expressions.is_some_and(|e| e.is_empty()) {
                problems.push("matchExpressions specified but empty".into());
            }
        }
    }
    problems
}

/// validation.IsSafePluginName.
fn is_safe_plugin_name(name: &str) -> bool {
    const WINDOWS_DEVICES: [&str; 22] = [
        "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8",
        "COM9", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
    ];
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && !WINDOWS_DEVICES.iter().any(|d| d.eq_ignore_ascii_case(name))
}

/// krew's semver.Parse: a leading `v`, then MAJOR.MINOR.PATCH without leading
/// zeros, optionally `-PRERELEASE` and `+BUILD` (apimachinery's ParseSemantic).
fn is_krew_semver(version: &str) -> bool {
    let Some(rest) = version.strip_prefix('v') else {
        return false;
    };
    let (rest, build) = match rest.split_once('+') {
        Some((head, build)) => (head, Some(build)),
        None => (rest, None),
    };
    let (core, pre) = match rest.split_once('-') {
        Some((head, pre)) => (head, Some(pre)),
        None => (rest, None),
    };
    let number = |n: &str| {
        !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()) && (n == "0" || !n.starts_with('0'))
    };
    let identifiers = |s: &str| {
        s.split('.')
            .all(|id| !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
    };
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts.iter().all(|p| number(p))
        && pre.is_none_or(identifiers)
        && build.is_none_or(identifiers)
}

/// Whether the platform's selector selects `{os, arch}` (metav1.LabelSelectorAsSelector).
fn selects(platform: &Platform, os: &str, arch: &str) -> bool {
    let Some(selector) = &platform.selector else {
        return false;
    };
    let label = |key: &str| match key {
        "os" => Some(os),
        "arch" => Some(arch),
        _ => None,
    };
    let labels_match = selector
        .match_labels
        .iter()
        .flatten()
        .all(|(k, v)| label(k) == Some(v.as_str()));
    let expressions_match = selector.match_expressions.iter().flatten().all(|r| {
        let value = label(&r.key);
        match r.operator.as_str() {
            "In" => value.is_some_and(|v| r.values.iter().any(|x| x == v)),
            "NotIn" => value.is_none_or(|v| !r.values.iter().any(|x| x == v)),
            "Exists" => value.is_some(),
            "DoesNotExist" => value.is_none(),
            _ => false,
        }
    });
    labels_match && expressions_match
}

/// Go's filepath.Clean for relative slash paths.
fn clean(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." if parts.last().is_some_and(|p| *p != "..") => {
                parts.pop();
            }
            part => parts.push(part),
        }
    }
    let joined = parts.join("/");
    match (path.starts_with('/'), joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

/// The release archive's name and URL for a platform, as the script writes them.
fn release_uri(plugin: &Plugin, os: &str, arch: &str) -> String {
    format!(
        "{}/releases/download/{}/kubectl-sts-{os}-{arch}.tar.gz",
        plugin.spec.homepage, plugin.spec.version
    )
}

fn platform_for<'a>(plugin: &'a Plugin, os: &str, arch: &str) -> &'a Platform {
    plugin
        .spec
        .platforms
        .iter()
        .find(|p| selects(p, os, arch))
        .unwrap_or_else(|| panic!("plugin.yaml has no platform for {os}/{arch}"))
}

/// The commands the caveats tell a user to run (indented lines, `\` joined).
fn caveat_commands(caveats: &str) -> Vec<String> {
    let mut commands = Vec::new();
    let mut current = String::new();
    for line in caveats.lines().filter(|l| l.starts_with("  ")) {
        let line = line.trim();
        match line.strip_suffix('\\') {
            Some(head) => {
                current.push_str(head);
                current.push(' ');
            }
            None => {
                current.push_str(line);
                commands.push(std::mem::take(&mut current));
            }
        }
    }
    commands
}

#[test]
fn the_manifest_passes_krews_validation() {
    let plugin = read_manifest(&root().join("plugin.yaml"));
    let problems = krew_problems(PLUGIN_NAME, &plugin);
    assert!(
        problems.is_empty(),
        "plugin.yaml:\n  {}",
        problems.join("\n  ")
    );

    assert_eq!(
        plugin.spec.version,
        format!("v{}", env!("CARGO_PKG_VERSION")),
        "spec.version must be the crate's version"
    );
    for (os, arch) in SHIPPED {
        let platform = platform_for(&plugin, os, arch);
        assert_eq!(platform.uri, release_uri(&plugin, os, arch), "{os}/{arch}");
        assert_eq!(platform.bin, "kubectl-sts", "{os}/{arch}");
    }
    // krew-index wants the license installed with the plugin.
    if root().join("LICENSE").exists() {
        for platform in &plugin.spec.platforms {
            let files = platform.files.iter().flatten();
            assert!(
                files.into_iter().any(|op| op.from == "LICENSE"),
                "LICENSE exists but {} does not install it",
                platform.uri
            );
        }
    }
    // The caveats point into this version's install dir.
    let store = format!(
        "/store/{PLUGIN_NAME}/{}/kubectl_complete-sts",
        plugin.spec.version
    );
    assert!(
        plugin.spec.caveats.contains(&store),
        "caveats do not mention {store}"
    );
}

#[test]
fn the_validation_refuses_what_krew_refuses() {
    let plugin = read_manifest(&root().join("plugin.yaml"));
    let broken = |change: fn(&mut Plugin)| {
        let mut copy = plugin.clone();
        change(&mut copy);
        krew_problems(PLUGIN_NAME, &copy)
    };
    assert!(!broken(|p| p.spec.version = "0.1.0".into()).is_empty());
    assert!(!broken(|p| p.spec.version = "v0.1".into()).is_empty());
    assert!(!broken(|p| p.spec.platforms[0].sha256 = "ABC".into()).is_empty());
    assert!(!broken(|p| p.spec.platforms[0].sha256 = "A".repeat(64)).is_empty());
    assert!(!broken(|p| p.spec.platforms[0].uri = "http://example.com/x.tar.gz".into()).is_empty());
    assert!(!broken(|p| p.spec.platforms[0].bin = String::new()).is_empty());
    assert!(!broken(|p| p.spec.platforms[0].files = Some(Vec::new())).is_empty());
    assert!(!broken(|p| p.spec.platforms[0].selector = None).is_empty());
    assert!(!broken(|p| p.spec.short_description = "a\nb".into()).is_empty());
    assert!(!broken(|p| p.metadata.name = "kubectl-sts".into()).is_empty());
    // Two entries for one platform.
    assert!(
        !broken(|p| {
            let first = p.spec.platforms[0].clone();
            p.spec.platforms.push(first)
        })
        .is_empty()
    );
    assert!(
        !broken(|p| {
            if let Some(files) = &mut p.spec.platforms[0].files {
                files[0].to = "./".into();
            }
        })
        .is_empty()
    );
    assert!(is_krew_semver("v1.2.3-rc.1+build.5"));
    assert!(!is_krew_semver("v01.2.3"));
    assert!(!is_safe_plugin_name("con"));
}

#[test]
fn the_readme_tells_the_krew_steps_the_manifest_needs() {
    let plugin = read_manifest(&root().join("plugin.yaml"));
    let readme = std::fs::read_to_string(root().join("README.md")).expect("read README.md");
    let section = readme
        .split("## Install with krew")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .expect("README.md has an `## Install with krew` section");
    for command in caveat_commands(&plugin.spec.caveats) {
        let flat = section
            .replace("\\\n", " ")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let wanted = command.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            flat.contains(&wanted),
            "README's krew section lacks the caveat step `{wanted}`"
        );
    }
    assert!(
        section.contains("plugin.yaml"),
        "README's krew section does not name plugin.yaml"
    );
    assert!(
        section.contains("scripts/krew-release.sh"),
        "README's krew section does not say how the archive is built"
    );
}

fn this_platform() -> (&'static str, &'static str) {
    let os = match std::env::consts::OS {
        "macos" => "darwin",
        other => other,
    };
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    (os, arch)
}

fn sha256_of(path: &Path) -> String {
    let output = Command::new("sha256sum")
        .arg(path)
        .output()
        .or_else(|_| {
            Command::new("shasum")
                .args(["-a", "256"])
                .arg(path)
                .output()
        })
        .expect("run sha256sum or shasum");
    assert!(output.status.success(), "hashing {}", path.display());
    String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}

/// Every file under `dir`, as slash paths relative to it (directories too).
fn archive_entries(dir: &Path) -> Vec<String> {
    let mut entries = Vec::new();
    let mut pending = vec![PathBuf::new()];
    while let Some(relative) = pending.pop() {
        for entry in std::fs::read_dir(dir.join(&relative)).expect("read the extracted archive") {
            let entry = entry.expect("read a directory entry");
            let path = relative.join(entry.file_name());
            entries.push(path.to_string_lossy().replace('\\', "/"));
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                pending.push(path);
            }
        }
    }
    entries.sort();
    entries
}

/// filepath.Match for `*` and `?` within one path segment.
fn glob_matches(pattern: &str, path: &str) -> bool {
    fn segment(p: &[char], s: &[char]) -> bool {
        match (p.first(), s.first()) {
            (None, None) => true,
            (Some('*'), _) => segment(&p[1..], s) || (!s.is_empty() && segment(p, &s[1..])),
            (Some('?'), Some(_)) => segment(&p[1..], &s[1..]),
            (Some(a), Some(b)) if a == b => segment(&p[1..], &s[1..]),
            _ => false,
        }
    }
    let p: Vec<&str> = pattern.split('/').collect();
    let s: Vec<&str> = path.split('/').collect();
    p.len() == s.len()
        && p.iter().zip(&s).all(|(p, s)| {
            segment(
                &p.chars().collect::<Vec<_>>(),
                &s.chars().collect::<Vec<_>>(),
            )
        })
}

fn copy_tree(from: &Path, to: &Path) {
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent).expect("create a directory");
    }
    if from.is_dir() {
        std::fs::create_dir_all(to).expect("create a directory");
        for entry in std::fs::read_dir(from).expect("read a directory") {
            let entry = entry.expect("read a directory entry");
            copy_tree(&entry.path(), &to.join(entry.file_name()));
        }
    } else {
        std::fs::copy(from, to).expect("copy a file");
    }
}

/// What krew's installation.moveToInstallDir does with `files`: a `from`
/// naming a file is copied to `to` (its own name when `to` is `.`), otherwise
/// `from` is a glob whose matches go into the directory `to`.
fn krew_install(extracted: &Path, install: &Path, files: &[FileOperation]) -> Result<(), String> {
    let entries = archive_entries(extracted);
    for op in files {
        if clean(&op.to) != op.to {
            return Err(format!("to {:?} is not clean", op.to));
        }
        let from = clean(&op.from);
        if from.starts_with("..") || from.starts_with('/') {
            return Err(format!("from {:?} leaves the archive", op.from));
        }
        if extracted.join(&from).exists() {
            let to = if op.to == "." {
                from.rsplit('/').next().unwrap_or(&from).to_string()
            } else {
                op.to.clone()
            };
            if to.starts_with("..") {
                return Err(format!("to {:?} leaves the install dir", op.to));
            }
            copy_tree(&extracted.join(&from), &install.join(to));
            continue;
        }
        let matched: Vec<&String> = entries.iter().filter(|e| glob_matches(&from, e)).collect();
        if matched.is_empty() {
            return Err(format!(
                "no files in the plugin archive matched the glob pattern={}",
                op.from
            ));
        }
        for entry in matched {
            let name = entry.rsplit('/').next().unwrap_or(entry);
            copy_tree(&extracted.join(entry), &install.join(&op.to).join(name));
        }
    }
    Ok(())
}

#[test]
fn the_release_archive_installs_like_krew_into_a_working_plugin() {
    let temp = tempfile::tempdir().expect("tempdir");
    let original = read_manifest(&root().join("plugin.yaml"));
    let manifest = temp.path().join("plugin.yaml");
    std::fs::copy(root().join("plugin.yaml"), &manifest).expect("copy plugin.yaml");

    // The release script, packaging the binary under test.
    let output = Command::new(root().join("scripts/krew-release.sh"))
        .arg("--binary")
        .arg(env!("CARGO_BIN_EXE_kubectl-sts"))
        .arg("--out")
        .arg(temp.path().join("dist"))
        .arg("--manifest")
        .arg(&manifest)
        .output()
        .expect("run scripts/krew-release.sh");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "krew-release.sh failed:\n{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let archive = PathBuf::from(stdout.lines().last().unwrap_or_default());
    assert!(
        archive.is_file(),
        "krew-release.sh printed {stdout:?}, not an archive"
    );

    // It filled in this platform's entry and changed nothing else.
    let (os, arch) = this_platform();
    let updated = read_manifest(&manifest);
    assert!(krew_problems(PLUGIN_NAME, &updated).is_empty());
    let entry = platform_for(&updated, os, arch);
    assert_eq!(entry.sha256, sha256_of(&archive));
    assert_eq!(entry.uri, release_uri(&updated, os, arch));
    assert!(archive.ends_with(entry.uri.rsplit('/').next().unwrap_or_default()));
    let mut restored = updated.clone();
    for platform in &mut restored.spec.platforms {
        if selects(platform, os, arch) {
            let before = platform_for(&original, os, arch);
            platform.sha256 = before.sha256.clone();
            platform.uri = before.uri.clone();
        }
    }
    assert_eq!(
        restored, original,
        "krew-release.sh changed more than {os}/{arch}'s uri and sha256"
    );

    // Unpack and install it as krew does, into a krew root of our own.
    let extracted = temp.path().join("extracted");
    std::fs::create_dir_all(&extracted).expect("mkdir");
    let untar = Command::new("tar")
        .arg("-xzf")
        .arg(&archive)
        .arg("-C")
        .arg(&extracted)
        .status()
        .expect("run tar");
    assert!(untar.success(), "tar -xzf {}", archive.display());
    let krew_root = temp.path().join("krew");
    let install = krew_root
        .join("store")
        .join(PLUGIN_NAME)
        .join(&updated.spec.version);
    let files = entry.files.clone().unwrap_or_else(|| {
        vec![FileOperation {
            from: "*".into(),
            to: ".".into(),
        }]
    });
    krew_install(&extracted, &install, &files)
        .unwrap_or_else(|e| panic!("installing as krew: {e}"));
    let bin = install.join(&entry.bin);
    assert!(
        bin.is_file(),
        "bin {} is not in the installed files",
        entry.bin
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&bin)
            .expect("stat bin")
            .permissions()
            .mode();
        assert!(mode & 0o111 != 0, "bin {} is not executable", entry.bin);
    }

    // krew links the bin as kubectl-<name>; then the caveats' steps, verbatim.
    let bin_dir = krew_root.join("bin");
    std::fs::create_dir_all(&bin_dir).expect("mkdir");
    #[cfg(unix)]
    std::os::unix::fs::symlink(&bin, bin_dir.join(format!("kubectl-{PLUGIN_NAME}")))
        .expect("link the plugin");
    let home = temp.path().join("home");
    std::fs::create_dir_all(&home).expect("mkdir");
    for command in caveat_commands(&updated.spec.caveats) {
        let status = Command::new("sh")
            .args(["-c", &command])
            .env("KREW_ROOT", &krew_root)
            .env("HOME", &home)
            .status()
            .expect("run sh");
        assert!(status.success(), "the caveats' `{command}` failed");
    }

    // A PATH with krew's bin dir and kubectl, but not the build's target dir.
    let kubectl = support::kubectl_path();
    let kubectl_dir = kubectl.parent().map(Path::to_path_buf).unwrap_or_default();
    let path = format!(
        "{}:{}:/usr/bin:/bin",
        bin_dir.display(),
        kubectl_dir.display()
    );
    let run = |args: &[&str]| {
        let output = Command::new(&kubectl)
            .args(args)
            .env("PATH", &path)
            .env("HOME", &home)
            .env_remove("KUBECONFIG")
            .output()
            .expect("run kubectl");
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    };
    let version = run(&["sts", "--version"]);
    assert!(
        version.contains(&format!("kubectl-sts {}", env!("CARGO_PKG_VERSION"))),
        "kubectl sts --version from the krew install: {version}"
    );
    let completion = run(&["__complete", "sts", "vo"]);
    assert!(
        completion.lines().any(|l| l.starts_with("volumes")),
        "kubectl's completion through the caveats' kubectl_complete-sts: {completion}"
    );
}
