//! The WebSocket client side shared by the tests of `/ws/` (cross-site checks, live predictions).

use std::time::Duration;

use futures::StreamExt;
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// A client WebSocket to the application.
pub type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The next text frame within `wait`, skipping pings and pongs.
pub async fn next_text(socket: &mut Socket, wait: Duration) -> Option<String> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, socket.next()).await {
            Err(_) => return None,
            Ok(Some(Ok(WsMessage::Text(t)))) => return Some(t.to_string()),
            Ok(Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_)))) => continue,
            Ok(other) => panic!("unexpected frame: {other:?}"),
        }
    }
}
