//! A TCP proxy the tests put between the application and an outside service, to take the service
//! away (every connection cut, new ones refused) and give it back on the same address.

use std::net::SocketAddr;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Forwards connections on a loopback port to `upstream` until [`TcpProxy::cut`].
pub struct TcpProxy {
    addr: SocketAddr,
    upstream: SocketAddr,
    stop: Option<watch::Sender<bool>>,
    task: Option<JoinHandle<()>>,
}

impl TcpProxy {
    /// Starts forwarding a fresh loopback port to `upstream`.
    pub async fn start(upstream: SocketAddr) -> TcpProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut proxy = TcpProxy { addr, upstream, stop: None, task: None };
        proxy.serve(listener);
        proxy
    }

    /// The address clients connect to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Takes the service away: closes the listening socket (new connections are refused) and
    /// every forwarded connection.
    pub async fn cut(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(true);
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    /// Gives the service back on the same address.
    pub async fn restore(&mut self) {
        assert!(self.task.is_none(), "the proxy is already serving");
        let listener = TcpListener::bind(self.addr).await.unwrap();
        self.serve(listener);
    }

    fn serve(&mut self, listener: TcpListener) {
        let (stop, stopped) = watch::channel(false);
        let upstream = self.upstream;
        self.task = Some(tokio::spawn(async move {
            let mut accept_stopped = stopped.clone();
            loop {
                tokio::select! {
                    _ = accept_stopped.changed() => break,
                    accepted = listener.accept() => {
                        let Ok((mut inbound, _)) = accepted else { continue };
                        let mut conn_stopped = stopped.clone();
                        tokio::spawn(async move {
                            let Ok(mut outbound) = TcpStream::connect(upstream).await else { return };
                            tokio::select! {
                                _ = conn_stopped.changed() => {}
                                _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                            }
                        });
                    }
                }
            }
        }));
        self.stop = Some(stop);
    }
}
