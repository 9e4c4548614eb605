//! The warehouse's instance-metadata guard (the bootstrap's `imds-guard`
//! step), run by sh in a network namespace of its own, so this machine's
//! firewall is untouched: there 169.254.169.254 is a local address that
//! accepts connections, and the test connects to it as different users.
//! Needs root and iptables (scripts/test.sh installs it).

use std::path::Path;
use std::process::Command;

use sbw_infra::{config, render};

const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/sbw.yaml");

fn bootstrap() -> render::Manifest {
    render::render(&config::load(Path::new(EXAMPLE), "prod", None).unwrap()).unwrap()
}

#[test]
fn only_the_users_the_guard_names_reach_the_instance_metadata() {
    let step = bootstrap().warehouse_user_data_step("imds-guard").unwrap();
    let (_, guard) = step.split_once("<<'GUARD'\n").expect("the guard's script");
    let (guard, _) = guard
        .split_once("\nGUARD\n")
        .expect("the guard's script ends");
    let path = std::env::temp_dir().join(format!("sbw-imds-guard-{}.sh", std::process::id()));
    std::fs::write(&path, guard).unwrap();
    // `daemon` stands in for the heartbeat's user; the guard runs twice, as
    // it does at every boot and every re-run of the bootstrap.
    let namespace = format!(
        r#"set -eu
ip link set lo up
ip addr add 169.254.169.254/32 dev lo
/usr/bin/python3 -c 'import socket, time
s = socket.socket(); s.bind(("169.254.169.254", 80)); s.listen(16); time.sleep(60)' &
for _ in $(seq 100); do (exec 3<>/dev/tcp/169.254.169.254/80) 2>/dev/null && break; sleep 0.1; done
sh {guard} root daemon
sh {guard} root daemon
for user in root daemon nobody; do
  if timeout 3 runuser -u "$user" -- bash -c 'exec 3<>/dev/tcp/169.254.169.254/80' 2>/dev/null
  then echo "$user reached it"; else echo "$user was refused"; fi
done
iptables -S OUTPUT
kill %1"#,
        guard = path.display()
    );
    let output = Command::new("unshare")
        .args(["--net", "bash", "-c", &namespace])
        .output()
        .expect("unshare runs (util-linux)");
    let _ = std::fs::remove_file(&path);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the namespace script failed (root and iptables are needed): {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines[..3],
        ["root reached it", "daemon reached it", "nobody was refused"],
        "{stdout}"
    );
    // Run twice, hooked once.
    let hooks = lines
        .iter()
        .filter(|l| l.contains("-d 169.254.169.254/32 -j SBW-IMDS"))
        .count();
    assert_eq!(hooks, 1, "{stdout}");
}

#[test]
fn the_guard_runs_at_boot_for_root_and_the_heartbeat_only() {
    let script = bootstrap().warehouse_user_data().unwrap();
    assert!(script.contains("ExecStart=/usr/local/sbin/sbw-imds-guard root sbw-heartbeat\n"));
    assert!(script.contains("systemctl enable --now sbw-imds-guard.service\n"));
    // The heartbeat, the only other user with a reason to call AWS, runs as that user.
    let heartbeat = script
        .split("cat >/etc/systemd/system/sbw-heartbeat.service <<'UNIT'\n")
        .nth(1)
        .and_then(|rest| rest.split("\nUNIT\n").next())
        .expect("the heartbeat's unit");
    assert!(
        heartbeat.lines().any(|l| l == "User=sbw-heartbeat"),
        "{heartbeat}"
    );
    assert!(!heartbeat.contains("DynamicUser"), "{heartbeat}");
    // Shiny, which runs code an attacker could reach, is not among them.
    assert!(script.contains("User=sbw-dashboard\n"));
}
