DROP TABLE pending_upgrades;
