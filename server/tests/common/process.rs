//! Helpers for tests that run the real `berth` binary as a process of its own.

use std::process::Child;
use std::time::Duration;

use bytes::Bytes;

/// A loopback port free at the time of asking.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits until `base` answers `/readyz` with 200 (up to 20 s).
pub async fn wait_ready(base: &str) {
    for _ in 0..400 {
        if let Ok(res) = reqwest::get(format!("{base}/readyz")).await {
            if res.status() == 200 {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{base} did not become ready");
}

/// SIGKILL: no chance to clean up.
pub fn kill(child: &mut Child) {
    child.kill().unwrap();
    child.wait().unwrap();
}

/// `len` reproducible, incompressible-looking bytes (xorshift from `seed`).
pub fn pattern(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).max(1);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 24) as u8
        })
        .collect()
}

/// A request body that sends `first`, then waits forever (until the server dies).
pub fn stalled_body(first: Vec<u8>) -> reqwest::Body {
    let stream = futures::stream::unfold(Some(first), |state| async move {
        match state {
            Some(chunk) => Some((Ok::<Bytes, std::io::Error>(Bytes::from(chunk)), None)),
            None => {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                None
            }
        }
    });
    reqwest::Body::wrap_stream(stream)
}
