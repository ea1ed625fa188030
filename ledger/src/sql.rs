//! How the chain's ids and byte strings are stored in a SQL database (feature `sqlx`).
//!
//! Ids are stored as the database's 64-bit integer and hashes, keys and signatures as
//! blobs of their exact size. Reading a value of the wrong size or sign is an error, never
//! a silently dropped row. The impls are generic over the database, so the same types
//! serve SQLite and PostgreSQL.

use crate::hash::{BlockHash, GroupKey, MerkleRoot, PublicKey, ReceivingKey, Signature, TxId};
use crate::id::{CandidateId, ElectionId};
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::{Database, Decode, Encode, Type};

macro_rules! integer_id {
    ($name:ident, $inner:ty) => {
        impl<DB: Database> Type<DB> for $name
        where
            i64: Type<DB>,
        {
            fn type_info() -> DB::TypeInfo {
                <i64 as Type<DB>>::type_info()
            }
            fn compatible(ty: &DB::TypeInfo) -> bool {
                <i64 as Type<DB>>::compatible(ty)
            }
        }

        impl<'q, DB: Database> Encode<'q, DB> for $name
        where
            i64: Encode<'q, DB>,
        {
            fn encode_by_ref(
                &self,
                buf: &mut <DB as Database>::ArgumentBuffer<'q>,
            ) -> Result<IsNull, BoxDynError> {
                <i64 as Encode<'q, DB>>::encode(i64::try_from(self.0)?, buf)
            }
        }

        impl<'r, DB: Database> Decode<'r, DB> for $name
        where
            i64: Decode<'r, DB>,
        {
            fn decode(value: <DB as Database>::ValueRef<'r>) -> Result<Self, BoxDynError> {
                let stored = <i64 as Decode<'r, DB>>::decode(value)?;
                let id = <$inner>::try_from(stored).map_err(|_| {
                    format!("stored {} {stored} is out of range", stringify!($name))
                })?;
                Ok(Self(id))
            }
        }
    };
}

integer_id!(ElectionId, u64);
integer_id!(CandidateId, u32);

macro_rules! byte_string {
    ($name:ident) => {
        impl<DB: Database> Type<DB> for $name
        where
            Vec<u8>: Type<DB>,
        {
            fn type_info() -> DB::TypeInfo {
                <Vec<u8> as Type<DB>>::type_info()
            }
            fn compatible(ty: &DB::TypeInfo) -> bool {
                <Vec<u8> as Type<DB>>::compatible(ty)
            }
        }

        impl<'q, DB: Database> Encode<'q, DB> for $name
        where
            Vec<u8>: Encode<'q, DB>,
        {
            fn encode_by_ref(
                &self,
                buf: &mut <DB as Database>::ArgumentBuffer<'q>,
            ) -> Result<IsNull, BoxDynError> {
                <Vec<u8> as Encode<'q, DB>>::encode(self.0.to_vec(), buf)
            }
        }

        impl<'r, DB: Database> Decode<'r, DB> for $name
        where
            Vec<u8>: Decode<'r, DB>,
        {
            fn decode(value: <DB as Database>::ValueRef<'r>) -> Result<Self, BoxDynError> {
                let bytes = <Vec<u8> as Decode<'r, DB>>::decode(value)?;
                Self::from_slice(&bytes).ok_or_else(|| {
                    format!(
                        "stored {} has {} bytes, not {}",
                        stringify!($name),
                        bytes.len(),
                        std::mem::size_of::<$name>()
                    )
                    .into()
                })
            }
        }
    };
}

byte_string!(BlockHash);
byte_string!(TxId);
byte_string!(MerkleRoot);
byte_string!(PublicKey);
byte_string!(Signature);
byte_string!(ReceivingKey);
byte_string!(GroupKey);
