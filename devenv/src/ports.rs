//! Ports on 127.0.0.1: bound here for the parts served in this process,
//! checked (and chosen when 0) for the children, which bind their own.

use std::net::{Ipv4Addr, TcpListener};

use crate::error::DevError;

/// A part that listens, and the flag that moves it.
#[derive(Debug, Clone, Copy)]
pub struct Service {
    pub name: &'static str,
    pub flag: &'static str,
}

pub const SHOP: Service = Service {
    name: "demo shop",
    flag: "--shop-port",
};
pub const INGEST: Service = Service {
    name: "ingest server",
    flag: "--ingest-port",
};
pub const DASHBOARD: Service = Service {
    name: "dashboard",
    flag: "--dashboard-port",
};
pub const POSTGRES: Service = Service {
    name: "database",
    flag: "--postgres-port",
};

/// Fails when two parts ask for the same port (0, any free one, never
/// clashes): the second would find it taken by the first and blame
/// whatever listens there.
pub fn distinct(requested: &[(u16, Service)]) -> Result<(), DevError> {
    for (at, (port, first)) in requested.iter().enumerate() {
        let clash = requested[at + 1..]
            .iter()
            .find(|(other, _)| *port != 0 && other == port);
        if let Some((_, second)) = clash {
            return Err(DevError::SamePort {
                port: *port,
                first: first.name,
                first_flag: first.flag,
                second: second.name,
                second_flag: second.flag,
            });
        }
    }
    Ok(())
}

/// Listens on 127.0.0.1:`port` (a free port when 0).
pub fn bind(port: u16, service: Service) -> Result<TcpListener, DevError> {
    TcpListener::bind((Ipv4Addr::LOCALHOST, port)).map_err(|error| match error.kind() {
        std::io::ErrorKind::AddrInUse => DevError::PortInUse {
            service: service.name,
            port,
            flag: service.flag,
        },
        _ => DevError::Listen {
            service: service.name,
            port,
            reason: error.to_string(),
        },
    })
}

/// A port a child can listen on: `port` if it is free, any free one when 0.
pub fn free(port: u16, service: Service) -> Result<u16, DevError> {
    let listener = bind(port, service)?;
    listener
        .local_addr()
        .map(|address| address.port())
        .map_err(|error| DevError::Listen {
            service: service.name,
            port,
            reason: error.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_port_in_use_is_named_with_its_flag() {
        let taken = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let port = taken.local_addr().unwrap().port();
        let error = free(port, DASHBOARD).unwrap_err().to_string();
        assert_eq!(
            error,
            format!("port {port} is in use, and the dashboard needs it; stop what listens there or pass --dashboard-port with another port (0 picks a free one)")
        );
        drop(taken);
        assert_eq!(free(port, DASHBOARD).unwrap(), port);
        assert_ne!(free(0, DASHBOARD).unwrap(), 0);
    }

    #[test]
    fn two_parts_on_one_port_are_named_with_their_flags() {
        assert_eq!(
            distinct(&[(8000, SHOP), (8787, INGEST), (8000, DASHBOARD)])
                .unwrap_err()
                .to_string(),
            "the demo shop (--shop-port) and the dashboard (--dashboard-port) would both listen on port 8000; pass another port to one of them (0 picks a free one)"
        );
        distinct(&[(0, SHOP), (0, INGEST), (3838, DASHBOARD), (0, POSTGRES)]).unwrap();
    }
}
