//! The subprotocol rules of `new WebSocket(url, protocols)`, which would otherwise throw a
//! SyntaxError: every target checks them (the browser driver and the testing transport).

use super::error::ProtocolError;

fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(
            c,
            '!' | '#' | '$' | '%' | '&' | '\'' | '*' | '+' | '-' | '.' | '^' | '_' | '`' | '|' | '~'
        )
}

/// Checks a subprotocol list the way `new WebSocket(url, protocols)` does.
pub fn check_protocols(list: &[String]) -> Result<(), ProtocolError> {
    for (i, p) in list.iter().enumerate() {
        if p.is_empty() || !p.chars().all(is_token_char) {
            return Err(ProtocolError::NotAToken);
        }
        if list[..i].contains(p) {
            return Err(ProtocolError::Duplicate);
        }
    }
    Ok(())
}
