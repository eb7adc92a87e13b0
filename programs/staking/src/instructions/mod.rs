//! One instruction per file, `noun_verb.rs`.

pub mod committee_configure;
pub mod committee_draw;
pub mod participant_slash;
pub mod reward_claim;
pub mod round_credit;
pub mod round_record;
pub mod rounds_close;
pub mod scores_post;
pub mod stake_deposit;
pub mod stake_withdraw;
pub mod task_cancel;
pub mod task_close;
pub mod task_create;
pub mod task_expire;
pub mod task_finalize;
pub mod task_finalize_begin;

pub use committee_configure::*;
pub use committee_draw::*;
pub use participant_slash::*;
pub use reward_claim::*;
pub use round_credit::*;
pub use round_record::*;
pub use rounds_close::*;
pub use scores_post::*;
pub use stake_deposit::*;
pub use stake_withdraw::*;
pub use task_cancel::*;
pub use task_close::*;
pub use task_create::*;
pub use task_expire::*;
pub use task_finalize::*;
pub use task_finalize_begin::*;
