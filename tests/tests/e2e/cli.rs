//! The command line as a client of a running DE: `electrons submit --wait`
//! prints the output, `--json` prints JSON that parses, `jobs`, `models`,
//! `keys` and `usage` answer, and a refused request says what DE said, on
//! stderr, with a non-zero exit.

use std::process::Output;

use electrons_tests::TestApp;
use serde_json::Value;

use crate::ELECTRONS;

/// `electrons ARGS` against the app, as its project's key.
async fn electrons(app: &TestApp, args: &[&str]) -> Output {
    electrons_as(app, &app.api_key, args).await
}

async fn electrons_as(app: &TestApp, key: &str, args: &[&str]) -> Output {
    tokio::process::Command::new(ELECTRONS)
        .args(args)
        .env("DE_URL", &app.base_url)
        .env("DE_API_KEY", key)
        .env_remove("RUST_LOG")
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .expect("run electrons")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn json_of(output: &Output) -> Value {
    assert!(
        output.status.success(),
        "exit {:?}; stderr:\n{}",
        output.status,
        stderr(output)
    );
    serde_json::from_str(&stdout(output))
        .unwrap_or_else(|e| panic!("--json printed no JSON ({e}):\n{}", stdout(output)))
}

#[tokio::test]
async fn submit_wait_prints_the_output_and_json_parses_for_every_command() {
    let app = TestApp::spawn().await;
    let dir = std::env::temp_dir().join(format!("de-cli-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("dir");
    let input = dir.join("job.json");
    std::fs::write(
        &input,
        r#"{"prompt": "Say hello to the command line", "max_tokens": 30}"#,
    )
    .expect("input");
    let at_input = format!("@{}", input.display());

    // For a person: the output, nothing else, on stdout.
    let output = electrons(
        &app,
        &["submit", "--model", "gpt-4o-mini", "--input", &at_input, "--wait"],
    )
    .await;
    assert!(output.status.success(), "stderr:\n{}", stderr(&output));
    let printed = stdout(&output);
    assert!(printed.starts_with("Simulated reply"), "{printed}");
    assert!(printed.contains("Say hello to the command line"), "{printed}");

    // For a script: the finished job as the API shows it.
    let output = electrons(
        &app,
        &[
            "submit",
            "--model",
            "gpt-4o-mini",
            "--prompt",
            "json please",
            "--wait",
            "--json",
        ],
    )
    .await;
    let job = json_of(&output);
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["input"]["prompt"], "json please");
    let id = job["id"].as_str().expect("id").to_owned();

    // Without --wait: the id, then the job can be followed and read.
    let output = electrons(
        &app,
        &["submit", "--model", "dall-e-3", "--prompt", "a lighthouse", "--json"],
    )
    .await;
    let image = json_of(&output)["id"].as_str().expect("id").to_owned();
    let output = electrons(&app, &["jobs", "watch", &image]).await;
    assert!(output.status.success(), "stderr:\n{}", stderr(&output));
    assert!(
        stdout(&output).contains("image/png"),
        "the file and its link: {}",
        stdout(&output)
    );

    let job = json_of(&electrons(&app, &["jobs", "get", &id, "--json"]).await);
    assert_eq!(job["id"], id.as_str());
    let page = json_of(&electrons(&app, &["jobs", "list", "--json", "--status", "succeeded"]).await);
    let listed: Vec<&str> = page["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter_map(|j| j["id"].as_str())
        .collect();
    assert!(
        listed.contains(&id.as_str()) && listed.contains(&image.as_str()),
        "{page}"
    );
    let table = stdout(&electrons(&app, &["jobs", "list"]).await);
    assert!(table.contains(&id) && table.contains("succeeded"), "{table}");

    let models = json_of(&electrons(&app, &["models", "--json"]).await);
    assert!(
        models["data"]
            .as_array()
            .expect("data")
            .iter()
            .any(|m| m["id"] == "gpt-4o-mini"),
        "{models}"
    );
    let table = stdout(&electrons(&app, &["models"]).await);
    assert!(table.contains("gpt-4o-mini") && table.contains("text"), "{table}");

    let usage = json_of(&electrons(&app, &["usage", "--json"]).await);
    assert!(usage["total"]["jobs"].as_i64().is_some_and(|jobs| jobs >= 3), "{usage}");
    let csv = electrons(&app, &["usage", "--csv"]).await;
    assert!(stdout(&csv).starts_with("day,project_id,model"), "{}", stdout(&csv));

    // Keys: made (the key shown once), listed without it, revoked, then refused.
    let key = json_of(&electrons(&app, &["keys", "create", "--name", "from the cli", "--json"]).await);
    let secret = key["key"].as_str().expect("key").to_owned();
    let key_id = key["id"].as_str().expect("id").to_owned();
    assert_eq!(
        json_of(&electrons_as(&app, &secret, &["models", "--json"]).await)["data"],
        models["data"]
    );
    let keys = electrons(&app, &["keys", "list", "--json"]).await;
    assert!(!stdout(&keys).contains(&secret), "a list never shows a key");
    assert!(json_of(&keys)["data"]
        .as_array()
        .expect("data")
        .iter()
        .any(|k| k["id"] == key_id.as_str()));
    let revoked = json_of(&electrons(&app, &["keys", "revoke", &key_id, "--json"]).await);
    assert!(revoked["revoked_at"].is_string(), "{revoked}");
    // Refused by every producer within a second.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    let refused = loop {
        let output = electrons_as(&app, &secret, &["models"]).await;
        if output.status.code() == Some(1) || std::time::Instant::now() > deadline {
            break output;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(refused.status.code(), Some(1), "{}", stdout(&refused));
    assert!(stderr(&refused).contains("(HTTP 401)"), "{}", stderr(&refused));
    assert!(!stderr(&refused).contains(&secret), "the key is never printed back");

    std::fs::remove_dir_all(&dir).ok();
    app.stop().await;
}

#[tokio::test]
async fn a_refused_submit_and_a_failed_job_say_why_with_their_exit_status() {
    let app = TestApp::spawn().await;

    let output = electrons(&app, &["submit", "--model", "no-such-model", "--prompt", "hi"]).await;
    assert_eq!(output.status.code(), Some(1));
    assert!(stdout(&output).is_empty(), "nothing on stdout: {}", stdout(&output));
    let said = stderr(&output);
    assert!(said.starts_with("error: unknown_model: "), "{said}");
    assert!(said.contains("[field: model]") && said.contains("(HTTP 422)"), "{said}");

    let output = electrons(&app, &["submit", "--model", "gpt-4o-mini", "--input", "{not json"]).await;
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("--input is not JSON"), "{}", stderr(&output));

    // A job that fails: its error is printed, and the exit status is 2.
    let output = electrons(
        &app,
        &[
            "submit",
            "--model",
            "gpt-4o-mini",
            "--prompt",
            "no [[sim:status=400]]",
            "--wait",
        ],
    )
    .await;
    assert_eq!(output.status.code(), Some(2), "stderr:\n{}", stderr(&output));
    let printed = stdout(&output);
    assert!(printed.contains("failed") && printed.contains("error: "), "{printed}");

    let output = tokio::process::Command::new(ELECTRONS)
        .args(["models"])
        .env("DE_URL", &app.base_url)
        .env_remove("DE_API_KEY")
        .output()
        .await
        .expect("run electrons");
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("set DE_API_KEY"), "{}", stderr(&output));
    app.stop().await;
}
