//! destroy placeholder
