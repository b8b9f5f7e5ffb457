//! Unit tests, one file per module, most of them on the realistic page of [`fixture`].

mod api_v2;
mod badge;
mod feed;
mod fixture;
mod html;
mod model;
mod time_fmt;
mod units;
mod xml;
