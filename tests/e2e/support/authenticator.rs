//! A software passkey authenticator: what a platform authenticator and the browser do for a
//! page, over the same JSON — it reads `PublicKeyCredentialCreationOptionsJSON` /
//! `…RequestOptionsJSON` and answers with what `PublicKeyCredential.toJSON()` gives. ES256
//! keys, "none" attestation, discoverable credentials with user handles. Tests can make it
//! lie: another origin or RP id, no user verification, a counter moved back.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use serde_cbor_2::Value as Cbor;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// One credential the authenticator holds.
struct Credential {
    id: Vec<u8>,
    key: SigningKey,
    rp_id: String,
    user_handle: Vec<u8>,
    counter: u32,
}

/// The authenticator and the page's origin it answers for.
pub struct SoftAuthenticator {
    credentials: Vec<Credential>,
    /// The origin the browser puts in clientDataJSON.
    pub origin: String,
    /// When set, the RP id whose hash goes into authenticatorData instead of the options' one.
    pub rp_id_override: Option<String>,
    /// Whether the user was verified (PIN, biometrics): the UV flag.
    pub user_verified: bool,
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(text).expect("base64url")
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).expect("randomness");
    bytes
}

const UP: u8 = 0x01;
const UV: u8 = 0x04;
const AT: u8 = 0x40;

impl SoftAuthenticator {
    /// An authenticator with no credential, used by pages of `origin`.
    pub fn new(origin: &str) -> Self {
        Self {
            credentials: Vec::new(),
            origin: origin.to_owned(),
            rp_id_override: None,
            user_verified: true,
        }
    }

    /// `navigator.credentials.create({ publicKey })`: a new credential for the options' RP and
    /// user, answered as RegistrationResponseJSON. Refuses (panics) where a browser would:
    /// a credential of `excludeCredentials` is already here.
    pub fn create(&mut self, options: &Value) -> Value {
        let rp_id = options["rp"]["id"].as_str().expect("rp.id").to_owned();
        for excluded in options["excludeCredentials"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let id = unb64(excluded["id"].as_str().unwrap());
            assert!(
                !self.credentials.iter().any(|c| c.id == id),
                "InvalidStateError: this authenticator holds an excluded credential"
            );
        }
        let key = loop {
            if let Ok(key) = SigningKey::from_bytes(&random_bytes::<32>().into()) {
                break key;
            }
        };
        let id = random_bytes::<16>().to_vec();
        let point = key.verifying_key().to_encoded_point(false);
        let cose_key = cbor_map(vec![
            (Cbor::Integer(1), Cbor::Integer(2)),  // kty: EC2
            (Cbor::Integer(3), Cbor::Integer(-7)), // alg: ES256
            (Cbor::Integer(-1), Cbor::Integer(1)), // crv: P-256
            (Cbor::Integer(-2), Cbor::Bytes(point.x().unwrap().to_vec())),
            (Cbor::Integer(-3), Cbor::Bytes(point.y().unwrap().to_vec())),
        ]);
        let cose_key = serde_cbor_2::to_vec(&cose_key).unwrap();
        let counter = 1;
        let mut auth_data = self.auth_data_head(&rp_id, AT, counter);
        auth_data.extend_from_slice(&[0u8; 16]); // AAGUID: none
        auth_data.extend_from_slice(&(id.len() as u16).to_be_bytes());
        auth_data.extend_from_slice(&id);
        auth_data.extend_from_slice(&cose_key);
        let attestation = cbor_map(vec![
            (Cbor::Text("fmt".into()), Cbor::Text("none".into())),
            (Cbor::Text("attStmt".into()), Cbor::Map(BTreeMap::new())),
            (Cbor::Text("authData".into()), Cbor::Bytes(auth_data)),
        ]);
        let client_data = self.client_data("webauthn.create", options);
        self.credentials.push(Credential {
            id: id.clone(),
            key,
            rp_id,
            user_handle: unb64(options["user"]["id"].as_str().expect("user.id")),
            counter,
        });
        json!({
            "id": b64(&id),
            "rawId": b64(&id),
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "response": {
                "clientDataJSON": b64(client_data.as_bytes()),
                "attestationObject": b64(&serde_cbor_2::to_vec(&attestation).unwrap()),
                "transports": ["internal"],
            },
            "clientExtensionResults": {},
        })
    }

    /// `navigator.credentials.get({ publicKey })`: an assertion by a credential of the
    /// options' `allowCredentials`, or (without one) by any credential for the RP id, answered
    /// as AuthenticationResponseJSON. `None` when this authenticator has no such credential.
    pub fn get(&mut self, options: &Value) -> Option<Value> {
        let rp_id = options["rpId"].as_str().expect("rpId").to_owned();
        let allowed: Vec<Vec<u8>> = options["allowCredentials"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| unb64(c["id"].as_str().unwrap()))
            .collect();
        let index = self
            .credentials
            .iter()
            .position(|c| c.rp_id == rp_id && (allowed.is_empty() || allowed.contains(&c.id)))?;
        self.credentials[index].counter += 1;
        let counter = self.credentials[index].counter;
        let auth_data = self.auth_data_head(&rp_id, 0, counter);
        let client_data = self.client_data("webauthn.get", options);
        let credential = &self.credentials[index];
        let mut signed = auth_data.clone();
        signed.extend_from_slice(&Sha256::digest(client_data.as_bytes()));
        let signature: Signature = credential.key.sign(&signed);
        Some(json!({
            "id": b64(&credential.id),
            "rawId": b64(&credential.id),
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "response": {
                "clientDataJSON": b64(client_data.as_bytes()),
                "authenticatorData": b64(&auth_data),
                "signature": b64(signature.to_der().as_bytes()),
                "userHandle": b64(&credential.user_handle),
            },
            "clientExtensionResults": {},
        }))
    }

    /// Sets the signature counter of every credential (a cloned key lags behind).
    pub fn set_counter(&mut self, counter: u32) {
        for credential in &mut self.credentials {
            credential.counter = counter;
        }
    }

    /// rpIdHash ‖ flags ‖ signCount.
    fn auth_data_head(&self, rp_id: &str, extra_flags: u8, counter: u32) -> Vec<u8> {
        let rp_id = self.rp_id_override.as_deref().unwrap_or(rp_id);
        let mut flags = UP | extra_flags;
        if self.user_verified {
            flags |= UV;
        }
        let mut data = Sha256::digest(rp_id.as_bytes()).to_vec();
        data.push(flags);
        data.extend_from_slice(&counter.to_be_bytes());
        data
    }

    fn client_data(&self, kind: &str, options: &Value) -> String {
        json!({
            "type": kind,
            "challenge": options["challenge"].as_str().expect("challenge"),
            "origin": self.origin,
            "crossOrigin": false,
        })
        .to_string()
    }
}

fn cbor_map(entries: Vec<(Cbor, Cbor)>) -> Cbor {
    Cbor::Map(entries.into_iter().collect())
}
