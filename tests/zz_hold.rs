mod support;
#[tokio::test(flavor = "multi_thread")]
async fn hold() {
    let sb = support::start_sandbox().await;
    std::fs::write("/tmp/sb_kubeconfig_path", sb.kubeconfig().display().to_string()).unwrap();
    println!("{}", sb.url);
    tokio::time::sleep(std::time::Duration::from_secs(3000)).await;
    sb.shutdown().await;
}
