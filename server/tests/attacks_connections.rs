//! Slow and idle clients (#7) and descriptor exhaustion (#8): the server closes what sends
//! nothing, and a normal request is served while hundreds of idle sockets are open.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::*;

/// Reads until the server closes the connection; returns what came and how long it took,
/// or `None` if it was still open after `limit`.
fn wait_for_close(stream: &mut TcpStream, limit: Duration) -> Option<(String, Duration)> {
    let start = Instant::now();
    stream.set_read_timeout(Some(limit)).unwrap();
    let mut seen = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => return Some((String::from_utf8_lossy(&seen).into(), start.elapsed())),
            Ok(n) => seen.extend_from_slice(&buffer[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                return Some((String::from_utf8_lossy(&seen).into(), start.elapsed()))
            }
            Err(_) => return None,
        }
        if start.elapsed() > limit {
            return None;
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn slow_headers_idle_keep_alive_and_stalled_bodies_are_closed() {
    let s = service_with(|c| {
        c.connections.header_read_timeout_secs = 1;
        c.connections.body_idle_timeout_secs = 1;
    })
    .await;
    let addr = s.running.addr;
    tokio::task::spawn_blocking(move || {
        // Slowloris: half a request, then silence.
        let mut slow = TcpStream::connect(addr).unwrap();
        slow.write_all(b"GET /client/v4 HTTP/1.1\r\nHost: x\r\nX-Slow: ").unwrap();
        assert!(
            wait_for_close(&mut slow, Duration::from_secs(10)).is_some(),
            "a connection that never finishes its headers must be closed"
        );

        // A connection that never sends a byte.
        let mut silent = TcpStream::connect(addr).unwrap();
        assert!(
            wait_for_close(&mut silent, Duration::from_secs(10)).is_some(),
            "a connection that sends nothing must be closed"
        );

        // Keep-alive: one full request, then idle.
        let mut idle = TcpStream::connect(addr).unwrap();
        idle.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        let (seen, _) = wait_for_close(&mut idle, Duration::from_secs(10))
            .expect("an idle keep-alive connection must be closed");
        assert!(seen.starts_with("HTTP/1.1 200"), "{seen}");

        // A body that stops arriving.
        let mut stalled = TcpStream::connect(addr).unwrap();
        stalled
            .write_all(
                b"POST /upload/x/y HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 100000\r\n\r\n--b\r\n",
            )
            .unwrap();
        assert!(
            wait_for_close(&mut stalled, Duration::from_secs(10)).is_some(),
            "a body that goes silent must not hold its connection"
        );
    })
    .await
    .unwrap();
}

#[test]
fn idle_sockets_cannot_lock_out_other_clients() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, addr) = spawn_binary(
        dir.path(),
        &["--header-read-timeout-secs", "2"],
        Some(|| {
            let limit = libc::rlimit {
                rlim_cur: 256,
                rlim_max: 256,
            };
            // SAFETY: setrlimit only changes the child's own limit, between fork and exec.
            if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        }),
    );
    let idle: Vec<TcpStream> = (0..300)
        .filter_map(|_| TcpStream::connect(addr).ok())
        .collect();
    assert!(idle.len() >= 250, "the kernel queued the idle sockets");

    // A normal request, on a connection of its own, sent once the server accepts it.
    let served = (|| {
        let mut stream = TcpStream::connect(addr).ok()?;
        write!(
            stream,
            "GET /client/v4/accounts/{}/images/v1/stats HTTP/1.1\r\nHost: x\r\n\
             Authorization: Bearer local-dev-token\r\nConnection: close\r\n\r\n",
            direct_upload_server::config::DEV_ACCOUNT_ID
        )
        .ok()?;
        wait_for_close(&mut stream, Duration::from_secs(30)).map(|(seen, _)| seen)
    })();
    let _ = child.kill();
    let _ = child.wait();
    drop(idle);
    let answer = served.expect("a normal request is served despite 300 idle sockets");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

/// Review follow-up: a body that trickles one byte at a time never goes idle, but it must
/// still end by its deadline.
#[tokio::test(flavor = "multi_thread")]
async fn a_trickling_body_ends_at_its_deadline() {
    let s = service_with(|c| {
        c.connections.body_idle_timeout_secs = 30;
        c.connections.body_timeout_secs = 2;
    })
    .await;
    let addr = s.running.addr;
    let closed = tokio::task::spawn_blocking(move || {
        let mut drip = TcpStream::connect(addr).unwrap();
        drip.write_all(
            b"POST /api/direct-upload HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 16000\r\n\r\n",
        )
        .unwrap();
        drip.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
        let start = Instant::now();
        let mut buffer = [0u8; 1024];
        // One byte every 300 ms, for up to 20 s, until the server answers or closes.
        while start.elapsed() < Duration::from_secs(20) {
            if drip.write_all(b" ").is_err() {
                return Some(start.elapsed());
            }
            match drip.read(&mut buffer) {
                Ok(_) => return Some(start.elapsed()),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut => {}
                Err(_) => return Some(start.elapsed()),
            }
        }
        None
    })
    .await
    .unwrap();
    let took = closed.expect("a trickling body must end at its deadline");
    assert!(took < Duration::from_secs(10), "ended after {took:?}");
}

/// Review follow-up: a client that sends requests but never reads the answers loses its
/// connection once a write has waited `--write-timeout-secs`.
#[tokio::test(flavor = "multi_thread")]
async fn a_client_that_never_reads_loses_its_connection() {
    let s = service_with(|c| c.connections.write_timeout_secs = 1).await;
    // A 2.5 MB original to ask for many times over.
    let noise: Vec<u8> = (0..1200 * 800 * 3)
        .map(|i: u32| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let image = image::RgbImage::from_raw(1200, 800, noise).unwrap();
    let mut png_bytes = std::io::Cursor::new(Vec::new());
    image
        .write_to(&mut png_bytes, image::ImageFormat::Png)
        .unwrap();
    let record = s.uploaded(png_bytes.get_ref(), "noise.png", &[]).await;
    let path = format!(
        "/client/v4/accounts/{}/images/v1/{}/blob",
        s.running.account_id,
        record["id"].as_str().unwrap()
    );
    let addr = s.running.addr;
    let read = tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(addr).unwrap();
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer local-dev-token\r\n\r\n"
        );
        // 60 pipelined requests for 2.5 MB each (150 MB), then not a byte read for 4 s.
        for _ in 0..60 {
            stream.write_all(request.as_bytes()).unwrap();
        }
        std::thread::sleep(Duration::from_secs(4));
        let mut total = 0usize;
        let mut buffer = vec![0u8; 1 << 16];
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        loop {
            match stream.read(&mut buffer) {
                Ok(0) | Err(_) => return total,
                Ok(n) => total += n,
            }
        }
    })
    .await
    .unwrap();
    let wanted = 60 * png_bytes.get_ref().len();
    assert!(
        read < wanted / 2,
        "the server kept the connection for a client that did not read: {read} of {wanted} bytes came"
    );
}

/// Review follow-up: SIGTERM ends the process after the grace period even while a client
/// keeps a request open.
#[test]
fn shutdown_does_not_wait_forever_for_a_slow_client() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, addr) = spawn_binary(dir.path(), &["--shutdown-grace-secs", "1"], None);
    let mut slow = TcpStream::connect(addr).unwrap();
    slow.write_all(
        b"POST /api/direct-upload HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{",
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    // SAFETY: sends SIGTERM to the child we started.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let stopping = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if stopping.elapsed() > Duration::from_secs(15) {
            let _ = child.kill();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    drop(slow);
    assert!(
        status.is_some(),
        "the process was still running 15 s after SIGTERM"
    );
}
