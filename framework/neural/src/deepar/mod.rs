//! DeepAR (Salinas et al., 2020) as trendlab runs it: the LSTM of the
//! `lstm` family (its CPU kernel and burn module) emitting a distribution
//! of the next value ([`likelihood`]), trained by likelihood on
//! teacher-forced windows ([`train`]) and forecast by seeded sample paths
//! ([`paths`]), each step reading what [`inputs`] says; [`family`] is the
//! [`trendlab_models::Forecaster`].

pub mod family;
pub mod inputs;
pub mod likelihood;
pub mod paths;
pub mod train;
pub mod weights;

pub use family::Deepar;
