//! Integration tests: each starts the real server on 127.0.0.1:0 with its
//! own temporary database and drives it over HTTP.

mod access;
mod alerts;
mod api_webhooks;
mod assets;
mod auth;
mod backlog;
mod bulk_replay;
mod catalog;
mod cli;
mod dashboard_api;
mod delivery;
mod delivery_log;
mod events_log;
mod forms;
mod hardening;
mod health;
mod hosts;
mod logs;
mod metrics;
mod ordering;
mod postgres;
mod processes;
mod props;
mod rebalance;
mod receiver;
mod smtp;
mod support;
mod system;
mod team;
mod tenants;
