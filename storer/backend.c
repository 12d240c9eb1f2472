/* storer/backend.c — picks the database backend for a configured driver (storer/backend.h). */
#include "storer/backend.h"

#include <stddef.h>

const struct store_backend *store_backend_for(enum cw_db_driver driver)
{
    switch (driver) {
    case CW_DB_SQLITE: return &store_backend_sqlite;
    case CW_DB_POSTGRES: return &store_backend_postgres;
    case CW_DB_MYSQL: return &store_backend_mysql;
    }
    return NULL;
}
