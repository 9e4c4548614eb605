//! A TCP proxy in front of a server (the test PostgreSQL) that breaks the
//! network between it and its clients on command: every open connection
//! reset, the connection that carries the next N bytes to the server cut
//! after them, or all traffic held (a stall) until resumed. Both ends see a
//! reset, as they would from a middlebox that dropped the flow.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::connections::{reset_on_close, serve_each};

/// What the proxy did since it started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TcpCounts {
    pub connections: usize,
    /// Connections ended by a reset (`reset_all` or a cut).
    pub resets: usize,
    /// Bytes forwarded from clients to the server.
    pub bytes_to_server: u64,
}

#[derive(Debug)]
struct Control {
    upstream: SocketAddr,
    /// Bumped to reset every open connection.
    resets: watch::Sender<u64>,
    /// While true, nothing is forwarded either way.
    stalled: watch::Sender<bool>,
    /// Client-to-server bytes left before the connection carrying them is cut.
    cut_after: Mutex<Option<u64>>,
    connections: AtomicUsize,
    reset_connections: AtomicUsize,
    bytes_to_server: AtomicU64,
}

impl Control {
    /// How many of `n` bytes to the server to forward, and whether the
    /// connection is cut after them.
    fn take_budget(&self, n: usize) -> (usize, bool) {
        let mut cut_after = self.cut_after.lock().expect("the cut lock");
        match *cut_after {
            Some(left) if left <= n as u64 => {
                *cut_after = None;
                (left as usize, true)
            }
            Some(left) => {
                *cut_after = Some(left - n as u64);
                (n, false)
            }
            None => (n, false),
        }
    }
}

/// The proxy, listening on a free port of the loopback; stops (and resets
/// its connections) when dropped.
pub struct TcpFaultProxy {
    address: SocketAddr,
    control: Arc<Control>,
    task: JoinHandle<()>,
}

impl TcpFaultProxy {
    /// Starts a proxy to `upstream` on the current runtime.
    pub async fn start(upstream: SocketAddr) -> std::io::Result<TcpFaultProxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let control = Arc::new(Control {
            upstream,
            resets: watch::Sender::new(0),
            stalled: watch::Sender::new(false),
            cut_after: Mutex::new(None),
            connections: AtomicUsize::new(0),
            reset_connections: AtomicUsize::new(0),
            bytes_to_server: AtomicU64::new(0),
        });
        let task = tokio::spawn({
            let control = control.clone();
            serve_each(listener, move |client| relay(client, control.clone()))
        });
        Ok(TcpFaultProxy {
            address,
            control,
            task,
        })
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Resets every open connection now.
    pub fn reset_all(&self) {
        self.control
            .resets
            .send_modify(|generation| *generation += 1);
    }

    /// Cuts (resets) the connection that carries the `bytes`-th byte from
    /// now on to the server, right after forwarding that byte.
    pub fn cut_after(&self, bytes: u64) {
        *self.control.cut_after.lock().expect("the cut lock") = Some(bytes.max(1));
    }

    /// Holds all traffic, both ways, on every connection until [`Self::resume`].
    pub fn stall(&self) {
        self.control.stalled.send_replace(true);
    }

    pub fn resume(&self) {
        self.control.stalled.send_replace(false);
    }

    pub fn counts(&self) -> TcpCounts {
        TcpCounts {
            connections: self.control.connections.load(Ordering::Relaxed),
            resets: self.control.reset_connections.load(Ordering::Relaxed),
            bytes_to_server: self.control.bytes_to_server.load(Ordering::Relaxed),
        }
    }
}

impl Drop for TcpFaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// How a relayed connection ended.
enum End {
    /// One side closed or failed; the other is closed in order.
    Closed,
    Reset,
}

async fn relay(mut client: TcpStream, control: Arc<Control>) {
    control.connections.fetch_add(1, Ordering::Relaxed);
    let Ok(mut server) = TcpStream::connect(control.upstream).await else {
        reset_on_close(&client);
        return;
    };
    let end = forward_both_ways(&mut client, &mut server, &control).await;
    if matches!(end, End::Reset) {
        control.reset_connections.fetch_add(1, Ordering::Relaxed);
        reset_on_close(&client);
        reset_on_close(&server);
    }
}

async fn forward_both_ways(
    client: &mut TcpStream,
    server: &mut TcpStream,
    control: &Control,
) -> End {
    let mut resets = control.resets.subscribe();
    let mut stalled = control.stalled.subscribe();
    let mut to_server = vec![0u8; 16 * 1024];
    let mut to_client = vec![0u8; 16 * 1024];
    loop {
        if *stalled.borrow_and_update() {
            tokio::select! {
                _ = stalled.changed() => continue,
                _ = resets.changed() => return End::Reset,
            }
        }
        // Commands first: a stall or reset ordered before data arrived applies to it.
        tokio::select! {
            biased;
            _ = resets.changed() => return End::Reset,
            _ = stalled.changed() => continue,
            read = client.read(&mut to_server) => {
                let Ok(n @ 1..) = read else { return End::Closed };
                let (forward, cut) = control.take_budget(n);
                if server.write_all(&to_server[..forward]).await.is_err() {
                    return End::Closed;
                }
                control.bytes_to_server.fetch_add(forward as u64, Ordering::Relaxed);
                if cut {
                    return End::Reset;
                }
            }
            read = server.read(&mut to_client) => {
                let Ok(n @ 1..) = read else { return End::Closed };
                if client.write_all(&to_client[..n]).await.is_err() {
                    return End::Closed;
                }
            }
        }
    }
}
