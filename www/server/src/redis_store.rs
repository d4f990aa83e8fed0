//! [`RedisStore`]: the shared session store on Redis (7 or later; feature `redis`).
//!
//! | key (prefix `tether:`) | type | content |
//! | --- | --- | --- |
//! | `tether:s:<sid>` | hash | `gen`, `owner` (node id), `epoch`, `tokh`, `prevh` (SHA-1 of the tokens: Redis never holds a token that would resume a session), `rx`, `acked`, `sent`, `deadline` (Redis `TIME` in ms past which a detached session is expired; 0 while attached) |
//! | `tether:s:<sid>:m` | list | the held messages `acked + 1 ..= sent`, each `t`+text or `b`+bytes |
//! | `tether:e:<sid>` | string, `PX` | `<reason> <SHA-1 of the last token>`, for a session the server ended |
//! | `tether:epoch` | string | a random value set when the first session is made: sessions made under another epoch are refused |
//! | `tether:node:<id>` | Pub/Sub channel | `<gen> <sid>`: a session node `<id>` lost to a claim |
//!
//! Every write and claim is one Lua script, so it is atomic; a node's writes go in one
//! pipeline per batch (one round trip). Keys expire: an attached session `ttl + 2 × refresh`
//! after its node last refreshed it (so a dead node's sessions go), a detached one a refresh
//! after its TTL (so that the node that had it writes why it ended first); a claim past the
//! TTL is refused as `expired` by the deadline, whatever the key's expiry.

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, IntoConnectionInfo, ProtocolVersion, PushInfo, PushKind, Value};
use tether_ws::core::continuity::ResumeReason;
use tokio::sync::{mpsc, Mutex};

use crate::message::{Message, Sid};
use crate::store::{Claim, Claimed, Outcome, SessionStore, State, StoreError, StoreFuture, Write, WriteOp};
use crate::{Bytes, Utf8Bytes};

/// How long an ended session's reason is kept for a resume to hear, ms.
const ENDED_KEEP_MS: u64 = 600_000;

/// Bounds every call to Redis.
const CALL_TIMEOUT: Duration = Duration::from_secs(2);

/// The write script: KEYS session, messages, epoch, ended; ARGV op (`c` create, `u` update,
/// `e` end, `r` remove), gen, node, a new epoch, then for `c`/`u` tok, prev, rx, acked,
/// first, expire_ms, ttl_ms (0: attached), messages…, for `e` reason, last tok, keep_ms.
const WRITE: &str = r#"
local op = ARGV[1]
local gen = redis.call('HGET', KEYS[1], 'gen')
if op == 'c' then
  if gen then
    if gen ~= ARGV[2] or redis.call('HGET', KEYS[1], 'owner') ~= ARGV[3] then return 'moved' end
  else
    local epoch = redis.call('GET', KEYS[3])
    if not epoch then
      epoch = ARGV[4]
      redis.call('SET', KEYS[3], epoch)
    end
    redis.call('HSET', KEYS[1], 'gen', ARGV[2], 'owner', ARGV[3], 'epoch', epoch, 'acked', '0', 'sent', '0')
  end
elseif not gen then
  return 'lost'
elseif gen ~= ARGV[2] then
  return 'moved'
end
if op == 'r' or op == 'e' then
  redis.call('DEL', KEYS[1], KEYS[2])
  if op == 'e' then
    redis.call('SET', KEYS[4], ARGV[5] .. ' ' .. redis.sha1hex(ARGV[6]), 'PX', ARGV[7])
  end
  return 'ok'
end
local acked = tonumber(redis.call('HGET', KEYS[1], 'acked'))
local sent = tonumber(redis.call('HGET', KEYS[1], 'sent'))
local new_acked = tonumber(ARGV[8])
if new_acked > acked then
  redis.call('LTRIM', KEYS[2], new_acked - acked, -1)
  acked = new_acked
end
if acked > sent then
  redis.call('DEL', KEYS[2])
  sent = acked
end
local first = tonumber(ARGV[9])
if first > sent + 1 then return 'gap' end
for i = 12, #ARGV do
  local index = first + (i - 12)
  if index > sent then
    redis.call('RPUSH', KEYS[2], ARGV[i])
    sent = index
  end
end
local prevh = ''
if ARGV[6] ~= '' then prevh = redis.sha1hex(ARGV[6]) end
local deadline = '0'
if ARGV[11] ~= '0' then
  local t = redis.call('TIME')
  deadline = string.format('%.0f', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(ARGV[11]))
end
redis.call('HSET', KEYS[1], 'tokh', redis.sha1hex(ARGV[5]), 'prevh', prevh, 'rx', ARGV[7],
  'acked', string.format('%.0f', acked), 'sent', string.format('%.0f', sent), 'deadline', deadline)
redis.call('PEXPIRE', KEYS[1], ARGV[10])
redis.call('PEXPIRE', KEYS[2], ARGV[10])
return 'ok'
"#;

/// The claim script: KEYS session, messages, epoch, ended; ARGV tok, node, channel prefix,
/// sid.
const CLAIM: &str = r#"
local h = redis.call('HMGET', KEYS[1], 'gen', 'owner', 'epoch', 'tokh', 'prevh', 'rx', 'acked', 'deadline')
local tokh = redis.sha1hex(ARGV[1])
if not h[1] then
  local e = redis.call('GET', KEYS[4])
  if e then
    local sp = string.find(e, ' ', 1, true)
    if sp and string.sub(e, sp + 1) == tokh then return {'ended', string.sub(e, 1, sp - 1)} end
    return {'auth'}
  end
  return {'unknown'}
end
if h[3] ~= redis.call('GET', KEYS[3]) then
  redis.call('DEL', KEYS[1], KEYS[2])
  return {'unknown'}
end
if tokh ~= h[4] and tokh ~= h[5] then return {'auth'} end
if h[8] and h[8] ~= '0' then
  local t = redis.call('TIME')
  if tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) >= tonumber(h[8]) then
    return {'ended', 'expired'}
  end
end
local gen = redis.call('HINCRBY', KEYS[1], 'gen', 1)
redis.call('HSET', KEYS[1], 'owner', ARGV[2])
if h[2] ~= ARGV[2] then
  redis.call('PUBLISH', ARGV[3] .. h[2], string.format('%.0f', gen) .. ' ' .. ARGV[4])
end
return {'ok', string.format('%.0f', gen), h[2], h[6], h[7], redis.call('LRANGE', KEYS[2], 0, -1)}
"#;

/// The shared session store on Redis. Make one per node with [`RedisStore::connect`] and
/// put it in [`Config::store`](crate::Config::store).
pub struct RedisStore {
    conn: ConnectionManager,
    node: String,
    prefix: String,
    taken: std::sync::Mutex<Option<mpsc::Receiver<(Sid, u64)>>>,
    /// The scripts' SHA-1s, loaded again after a Redis restart (`NOSCRIPT`).
    shas: Mutex<Option<(String, String)>>,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("node", &self.node)
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// The default key prefix.
    pub const DEFAULT_PREFIX: &'static str = "tether:";

    /// Connects to Redis at `url` (`redis://[user:password@]host[:port][/db]`), checks that it
    /// is version 7 or later, draws this node's id, and subscribes to the node's channel.
    /// Every key and channel name starts with `prefix`. The connection is kept: it
    /// reconnects and resubscribes by itself.
    pub async fn connect(url: &str, prefix: &str) -> Result<RedisStore, StoreError> {
        let shown = redacted(url);
        let bad = |e: &dyn std::fmt::Display| StoreError::Unavailable(format!("bad store URL {shown}: {e}"));
        let info = url.into_connection_info().map_err(|e| bad(&e))?;
        let settings = info.redis_settings().clone().set_protocol(ProtocolVersion::RESP3);
        let client = Client::open(info.set_redis_settings(settings)).map_err(|e| bad(&e))?;
        let mut random = [0u8; 8];
        getrandom::fill(&mut random).map_err(|e| StoreError::Unavailable(format!("no randomness: {e}")))?;
        let node: String = random.iter().map(|b| format!("{b:02x}")).collect();
        let (push_tx, mut pushes) = mpsc::channel::<PushInfo>(1024);
        let manager = ConnectionManagerConfig::new()
            .set_push_sender(move |info: PushInfo| push_tx.try_send(info).map_err(drop))
            .set_automatic_resubscription()
            .set_connection_timeout(Some(CALL_TIMEOUT))
            .set_response_timeout(Some(CALL_TIMEOUT))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_secs(1));
        let unreachable =
            |e: &dyn std::fmt::Display| StoreError::Unavailable(format!("Redis at {shown}: {e}"));
        let mut conn = tokio::time::timeout(
            Duration::from_secs(5),
            ConnectionManager::new_with_config(client, manager),
        )
        .await
        .map_err(|_| unreachable(&"no answer within 5 s"))?
        .map_err(|e| unreachable(&e))?;
        let version: String = timed(redis::cmd("INFO").arg("server").query_async(&mut conn)).await?;
        match major_version(&version) {
            Some(v) if v >= 7 => {}
            Some(v) => return Err(unreachable(&format!("need Redis 7 or later, found {v}"))),
            None => return Err(unreachable(&"no redis_version in INFO server")),
        }
        timed(conn.subscribe(format!("{prefix}node:{node}"))).await?;
        let (taken_tx, taken) = mpsc::channel(1024);
        tokio::spawn(async move {
            while let Some(push) = pushes.recv().await {
                if let Some(t) = parse_taken(&push) {
                    // Full: the fence still stops the old writes; this was only quicker.
                    let _ = taken_tx.try_send(t);
                }
            }
        });
        Ok(RedisStore {
            conn,
            node,
            prefix: prefix.to_owned(),
            taken: std::sync::Mutex::new(Some(taken)),
            shas: Mutex::new(None),
        })
    }

    fn keys(&self, sid: &str) -> [String; 4] {
        let p = &self.prefix;
        [
            format!("{p}s:{sid}"),
            format!("{p}s:{sid}:m"),
            format!("{p}epoch"),
            format!("{p}e:{sid}"),
        ]
    }

    /// The scripts' SHA-1s, loading them first if needed.
    async fn shas(&self, reload: bool) -> Result<(String, String), StoreError> {
        let mut shas = self.shas.lock().await;
        if reload || shas.is_none() {
            let mut conn = self.conn.clone();
            let write: String =
                timed(redis::cmd("SCRIPT").arg("LOAD").arg(WRITE).query_async(&mut conn)).await?;
            let claim: String =
                timed(redis::cmd("SCRIPT").arg("LOAD").arg(CLAIM).query_async(&mut conn)).await?;
            *shas = Some((write, claim));
        }
        shas.clone()
            .ok_or_else(|| StoreError::Unavailable("scripts not loaded".into()))
    }

    async fn write_all(&self, writes: &[Write]) -> Result<Vec<Outcome>, StoreError> {
        let mut epoch = [0u8; 8];
        getrandom::fill(&mut epoch).map_err(|e| StoreError::Unavailable(format!("no randomness: {e}")))?;
        let epoch: String = epoch.iter().map(|b| format!("{b:02x}")).collect();
        for attempt in 0..2 {
            let (sha, _) = self.shas(attempt > 0).await?;
            let mut pipe = redis::pipe();
            for w in writes {
                let mut cmd = redis::cmd("EVALSHA");
                cmd.arg(&sha).arg(4).arg(&self.keys(&w.sid));
                let op = match &w.op {
                    WriteOp::Create(_) => "c",
                    WriteOp::Update(_) => "u",
                    WriteOp::End { .. } => "e",
                    WriteOp::Remove => "r",
                };
                cmd.arg(op).arg(w.gen).arg(&self.node).arg(&epoch);
                match &w.op {
                    WriteOp::Create(s) | WriteOp::Update(s) => state_args(&mut cmd, s),
                    WriteOp::End { reason, last_tok } => {
                        cmd.arg(reason.as_str()).arg(last_tok).arg(ENDED_KEEP_MS);
                    }
                    WriteOp::Remove => {}
                }
                pipe.add_command(cmd);
            }
            let mut conn = self.conn.clone();
            match timed(pipe.query_async::<Vec<String>>(&mut conn)).await {
                Ok(answers) => {
                    return answers
                        .iter()
                        .map(|a| match a.as_str() {
                            "ok" => Ok(Outcome::Written),
                            "moved" => Ok(Outcome::Moved),
                            "lost" => Ok(Outcome::Lost),
                            other => Err(StoreError::Malformed(format!("write answered {other:?}"))),
                        })
                        .collect();
                }
                Err(StoreError::Unavailable(e)) if no_script(&e) && attempt == 0 => continue,
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Unavailable("the scripts would not load".into()))
    }

    async fn claim_one(&self, sid: &str, tok: &str) -> Result<Claim, StoreError> {
        for attempt in 0..2 {
            let (_, sha) = self.shas(attempt > 0).await?;
            let mut cmd = redis::cmd("EVALSHA");
            cmd.arg(&sha)
                .arg(4)
                .arg(&self.keys(sid))
                .arg(tok)
                .arg(&self.node)
                .arg(format!("{}node:", self.prefix))
                .arg(sid);
            let mut conn = self.conn.clone();
            match timed(cmd.query_async::<Value>(&mut conn)).await {
                Ok(answer) => return parse_claim(answer),
                Err(StoreError::Unavailable(e)) if no_script(&e) && attempt == 0 => continue,
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Unavailable("the scripts would not load".into()))
    }
}

fn state_args(cmd: &mut redis::Cmd, s: &State) {
    cmd.arg(&s.tok)
        .arg(s.prev_tok.as_deref().unwrap_or(""))
        .arg(s.rx)
        .arg(s.acked)
        .arg(s.first)
        .arg(s.expire_ms.max(1))
        .arg(s.ttl_ms.unwrap_or(0));
    for m in &s.messages {
        cmd.arg(encode(m));
    }
}

impl SessionStore for RedisStore {
    fn node(&self) -> &str {
        &self.node
    }

    fn write<'a>(&'a self, writes: &'a [Write]) -> StoreFuture<'a, Vec<Outcome>> {
        Box::pin(self.write_all(writes))
    }

    fn claim<'a>(&'a self, sid: &'a str, tok: &'a str) -> StoreFuture<'a, Claim> {
        Box::pin(self.claim_one(sid, tok))
    }

    fn refresh<'a>(&'a self, sids: &'a [Sid], expire_ms: u64) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            if sids.is_empty() {
                return Ok(());
            }
            let mut pipe = redis::pipe();
            for sid in sids {
                let [hash, list, ..] = self.keys(sid);
                pipe.pexpire(hash, expire_ms as i64).ignore();
                pipe.pexpire(list, expire_ms as i64).ignore();
            }
            let mut conn = self.conn.clone();
            timed(pipe.exec_async(&mut conn)).await
        })
    }

    fn taken(&self) -> Option<mpsc::Receiver<(Sid, u64)>> {
        self.taken.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

/// A message as the store keeps it: its kind, then its bytes.
fn encode(m: &Message) -> Vec<u8> {
    let mut v = Vec::with_capacity(m.len() + 1);
    v.push(if m.is_text() { b't' } else { b'b' });
    v.extend_from_slice(m.as_bytes());
    v
}

fn decode(raw: &[u8]) -> Option<Message> {
    match raw.split_first()? {
        (b't', text) => Utf8Bytes::try_from(Bytes::copy_from_slice(text))
            .ok()
            .map(Message::Text),
        (b'b', bytes) => Some(Message::Binary(Bytes::copy_from_slice(bytes))),
        _ => None,
    }
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::BulkString(b) => String::from_utf8(b.clone()).ok(),
        Value::SimpleString(s) => Some(s.clone()),
        Value::Int(n) => Some(n.to_string()),
        _ => None,
    }
}

fn parse_claim(answer: Value) -> Result<Claim, StoreError> {
    let bad = || StoreError::Malformed("claim answered an unexpected shape".into());
    let Value::Array(items) = answer else {
        return Err(bad());
    };
    let head = items.first().and_then(text).ok_or_else(bad)?;
    match head.as_str() {
        "unknown" => Ok(Claim::Unknown),
        "auth" => Ok(Claim::Auth),
        "ended" => match items.get(1).and_then(text).as_deref() {
            Some("expired") => Ok(Claim::Ended(ResumeReason::Expired)),
            Some("overflow") => Ok(Claim::Ended(ResumeReason::Overflow)),
            _ => Ok(Claim::Unknown),
        },
        "ok" => {
            let number = |i: usize| -> Result<u64, StoreError> {
                items
                    .get(i)
                    .and_then(text)
                    .and_then(|t| t.parse().ok())
                    .ok_or_else(bad)
            };
            let gen = number(1)?;
            let previous_owner = items.get(2).and_then(text).ok_or_else(bad)?;
            let rx = number(3)?;
            let acked = number(4)?;
            let Some(Value::Array(list)) = items.get(5) else {
                return Err(bad());
            };
            let messages = list
                .iter()
                .map(|v| match v {
                    Value::BulkString(b) => decode(b),
                    _ => None,
                })
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| StoreError::Malformed("a stored message is not one".into()))?;
            Ok(Claim::Taken(Claimed {
                gen,
                previous_owner,
                rx,
                acked,
                messages,
            }))
        }
        _ => Err(bad()),
    }
}

/// `<gen> <sid>` on the node's channel.
fn parse_taken(push: &PushInfo) -> Option<(Sid, u64)> {
    if push.kind != PushKind::Message {
        return None;
    }
    let payload = match push.data.get(1)? {
        Value::BulkString(b) => std::str::from_utf8(b).ok()?,
        _ => return None,
    };
    let (gen, sid) = payload.split_once(' ')?;
    let gen = gen.parse().ok()?;
    let ok = !sid.is_empty() && sid.len() <= 64 && sid.bytes().all(|b| b.is_ascii_hexdigit());
    ok.then(|| (Sid::from(sid), gen))
}

async fn timed<T>(call: impl std::future::Future<Output = redis::RedisResult<T>>) -> Result<T, StoreError> {
    match tokio::time::timeout(CALL_TIMEOUT, call).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(StoreError::Unavailable(e.to_string())),
        Err(_) => Err(StoreError::Unavailable(format!(
            "no answer within {} ms",
            CALL_TIMEOUT.as_millis()
        ))),
    }
}

/// Whether Redis forgot the scripts (it restarted): `NOSCRIPT`, in whatever words the
/// client library reports it.
fn no_script(error: &str) -> bool {
    error.to_ascii_lowercase().contains("noscript")
}

fn major_version(info: &str) -> Option<u32> {
    let line = info.lines().find_map(|l| l.strip_prefix("redis_version:"))?;
    line.trim().split('.').next()?.parse().ok()
}

/// The URL without its password, for messages.
fn redacted(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => format!("{}://***{}", &url[..scheme], &url[at..]),
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_and_garbage_is_refused() {
        for m in [
            Message::text("hé"),
            Message::binary(vec![0u8, 255]),
            Message::text(""),
        ] {
            assert_eq!(decode(&encode(&m)), Some(m));
        }
        assert_eq!(decode(b""), None);
        assert_eq!(decode(b"x12"), None);
        assert_eq!(decode(b"t\xff"), None);
    }

    #[test]
    fn helpers() {
        assert_eq!(major_version("# Server\r\nredis_version:7.0.15\r\n"), Some(7));
        assert_eq!(redacted("redis://u:secret@h:1/0"), "redis://***@h:1/0");
        assert_eq!(redacted("redis://h:1"), "redis://h:1");
    }
}
