"""Operations: backup and restore, staff logins, login throttling."""
